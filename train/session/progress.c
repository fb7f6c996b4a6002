/* progress.c: see progress.h. */
#include "train/session/progress.h"

#include <time.h>
#include <unistd.h>

double df_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void df_progress_init(df_progress *p, FILE *out, long steps_total, long steps_done) {
    p->out = out;
    p->tty = isatty(fileno(out));
    p->every = 50;
    p->start = p->last_print = df_now();
    p->steps_total = steps_total;
    p->steps_done_at_start = steps_done;
    p->loss_ema = -1.0;
    p->images = 0;
}

double df_progress_images_per_second(const df_progress *p) {
    double t = df_now() - p->start;
    return t > 0 ? (double)p->images / t : 0.0;
}

static void eta(char *buf, size_t size, double seconds) {
    if (seconds < 0 || seconds > 1e7) {
        snprintf(buf, size, "--");
        return;
    }
    int s = (int)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%dh%02dm", s / 3600, s / 60 % 60);
    else
        snprintf(buf, size, "%dm%02ds", s / 60, s % 60);
}

void df_progress_step(df_progress *p, int epoch, int epochs, long step, float loss, int batch_images) {
    p->images += batch_images;
    /* The step's own loss jumps about at small batch sizes, so an exponential moving average is shown beside
     * it, labelled as such (it lags the current loss). */
    p->loss_ema = p->loss_ema < 0 ? loss : 0.95 * p->loss_ema + 0.05 * loss;
    double now = df_now();
    long done = step + 1 - p->steps_done_at_start;
    int due = p->tty ? now - p->last_print > 0.25 : (step + 1) % p->every == 0;
    if (!due && step + 1 != p->steps_total) return;
    p->last_print = now;
    double per_step = done > 0 ? (now - p->start) / (double)done : 0;
    char left[32];
    eta(left, sizeof left, per_step * (double)(p->steps_total - step - 1));
    fprintf(p->out, "%sepoch %d/%d  step %ld/%ld  loss %.4f (smoothed %.4f)  %.1f img/s  ETA %s%s",
            p->tty ? "\r\033[K" : "", epoch + 1, epochs, step + 1, p->steps_total, loss, p->loss_ema,
            df_progress_images_per_second(p), left, p->tty ? "" : "\n");
    fflush(p->out);
}

void df_progress_break(df_progress *p) {
    if (p->tty) fputc('\n', p->out);
}
