/* schedule.h: learning-rate schedules.
 *
 * The learning rate is a pure function of the global step (counted from 0 over the whole run), so a resumed
 * run recomputes it from the saved step alone. Every kind may start with a linear warm-up: during steps
 * 0..warmup_steps-1 the rate is the schedule's value times (step + 1) / warmup_steps, so the first step
 * already moves and step warmup_steps - 1 reaches the full value.
 *   constant  base_lr
 *   step      base_lr * gamma^k, k = the number of epoch milestones reached (milestones given), or
 *             floor(epoch / step_epochs) (no milestones); epoch = step / steps_per_epoch
 *   cosine    base_lr at step warmup_steps, falling along a half cosine to min_lr at step total_steps - 1,
 *             and min_lr after it */
#ifndef DF_SCHEDULE_H
#define DF_SCHEDULE_H

#include "core/error.h"

typedef enum { DF_SCHED_CONSTANT = 0, DF_SCHED_STEP = 1, DF_SCHED_COSINE = 2 } df_schedule_kind;

#define DF_SCHED_MAX_MILESTONES 16

typedef struct {
    df_schedule_kind kind;
    float base_lr;
    long warmup_steps; /* 0: no warm-up */
    /* step */
    float gamma;
    int step_epochs;                          /* decay every step_epochs epochs, when n_milestones == 0 */
    int n_milestones;
    int milestones[DF_SCHED_MAX_MILESTONES];  /* epochs, strictly increasing */
    /* cosine */
    float min_lr;
    long total_steps;
} df_schedule;

/* A constant schedule at base_lr, no warm-up; gamma 0.1 every 30 epochs and min_lr 0 for the other kinds. */
df_schedule df_schedule_defaults(df_schedule_kind kind, float base_lr);

/* The kinds' names in df_schedule_kind's order, NULL-terminated: "constant", "step", "cosine" (configs bind
 * train.schedule through this table). */
extern const char *const df_schedule_kind_names[];

/* Checks the values for the kind (base_lr > 0, warmup_steps >= 0, 0 < gamma <= 1, step_epochs > 0 or
 * increasing non-negative milestones, 0 <= min_lr <= base_lr, total_steps > warmup_steps); the message
 * names the field and the value. */
int df_schedule_check(const df_schedule *s, df_error *err);

/* The learning rate for global step `step` (>= 0). steps_per_epoch (> 0) is used by the step kind only. */
float df_schedule_lr(const df_schedule *s, long step, long steps_per_epoch);

#endif
