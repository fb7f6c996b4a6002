/* progress.h: the one-line training progress display. On a terminal the line is redrawn in place
 * (epoch, step, the step's loss and its moving average, img/s, ETA); elsewhere (a log file, CI) a plain line is printed every `every` steps
 * and at the end of each epoch, so logs stay readable. */
#ifndef DF_PROGRESS_H
#define DF_PROGRESS_H

#include <stdio.h>

typedef struct {
    FILE *out;
    int tty;
    int every;            /* plain mode: print every N steps */
    double start, last_print;
    long steps_total, steps_done_at_start;
    double loss_ema;
    long images;
} df_progress;

double df_now(void); /* monotonic seconds */
void df_progress_init(df_progress *p, FILE *out, long steps_total, long steps_done);
void df_progress_step(df_progress *p, int epoch, int epochs, long step, float loss, int batch_images);
/* Ends the in-place line (if any) so the next output starts on a fresh line. */
void df_progress_break(df_progress *p);
double df_progress_images_per_second(const df_progress *p);

#endif
