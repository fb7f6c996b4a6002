/* signals.h: SIGINT and SIGTERM ask a run to stop; the training loop checks the flag between steps, writes a
 * checkpoint and exits cleanly. A second signal while stopping kills the process the default way. */
#ifndef DF_SIGNALS_H
#define DF_SIGNALS_H

void df_signals_install(void);
/* The signal number received, or 0. */
int df_signals_stop_requested(void);

#endif
