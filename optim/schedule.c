/* schedule.c: learning-rate schedules (see schedule.h). Computed in double from the step alone. */
#include "optim/schedule.h"

#include <math.h>
#include <string.h>

df_schedule df_schedule_defaults(df_schedule_kind kind, float base_lr) {
    df_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.base_lr = base_lr;
    s.gamma = 0.1f;
    s.step_epochs = 30;
    return s;
}

const char *const df_schedule_kind_names[] = {"constant", "step", "cosine", NULL};

int df_schedule_check(const df_schedule *s, df_error *err) {
    if (s->kind < DF_SCHED_CONSTANT || s->kind > DF_SCHED_COSINE)
        return df_fail(err, "schedule kind %d is not constant, step or cosine", (int)s->kind);
    /* Written as !(x > 0) so that NaN fails too. */
    if (!(s->base_lr > 0.0f) || isinf(s->base_lr))
        return df_fail(err, "schedule base lr %g must be positive", s->base_lr);
    if (s->warmup_steps < 0) return df_fail(err, "schedule warmup_steps %ld must be >= 0", s->warmup_steps);
    if (s->kind == DF_SCHED_STEP) {
        if (!(s->gamma > 0.0f && s->gamma <= 1.0f))
            return df_fail(err, "schedule gamma %g must be in (0, 1]", s->gamma);
        if (s->n_milestones < 0 || s->n_milestones > DF_SCHED_MAX_MILESTONES)
            return df_fail(err, "schedule has %d milestones (at most %d)", s->n_milestones,
                           DF_SCHED_MAX_MILESTONES);
        if (s->n_milestones == 0 && s->step_epochs <= 0)
            return df_fail(err, "schedule step_epochs %d must be positive (or give milestones)", s->step_epochs);
        for (int i = 0; i < s->n_milestones; i++) {
            if (s->milestones[i] < 0)
                return df_fail(err, "schedule milestone %d (epoch %d) is negative", i + 1, s->milestones[i]);
            if (i > 0 && s->milestones[i] <= s->milestones[i - 1])
                return df_fail(err, "schedule milestones must increase: epoch %d follows epoch %d",
                               s->milestones[i], s->milestones[i - 1]);
        }
    }
    if (s->kind == DF_SCHED_COSINE) {
        if (!(s->min_lr >= 0.0f && s->min_lr <= s->base_lr))
            return df_fail(err, "schedule min_lr %g must be in [0, base lr %g]", s->min_lr, s->base_lr);
        if (s->total_steps <= s->warmup_steps)
            return df_fail(err, "schedule total_steps %ld must exceed warmup_steps %ld", s->total_steps,
                           s->warmup_steps);
    }
    return 0;
}

static double main_lr(const df_schedule *s, long step, long steps_per_epoch) {
    const double base = s->base_lr;
    switch (s->kind) {
    case DF_SCHED_CONSTANT: return base;
    case DF_SCHED_STEP: {
        DF_ASSERT(steps_per_epoch > 0);
        long epoch = step / steps_per_epoch, k = 0;
        if (s->n_milestones > 0)
            while (k < s->n_milestones && epoch >= s->milestones[k]) k++;
        else
            k = epoch / s->step_epochs;
        return base * pow((double)s->gamma, (double)k);
    }
    case DF_SCHED_COSINE: {
        const long span = s->total_steps - 1 - s->warmup_steps;
        double progress = span > 0 ? (double)(step - s->warmup_steps) / (double)span : 1.0;
        if (progress < 0.0) progress = 0.0;
        if (progress > 1.0) progress = 1.0;
        return s->min_lr + (base - s->min_lr) * 0.5 * (1.0 + cos(M_PI * progress));
    }
    }
    DF_ASSERT(0);
    return 0.0;
}

float df_schedule_lr(const df_schedule *s, long step, long steps_per_epoch) {
    DF_ASSERT(step >= 0);
    double lr = main_lr(s, step, steps_per_epoch);
    if (step < s->warmup_steps) lr *= (double)(step + 1) / (double)s->warmup_steps;
    return (float)lr;
}
