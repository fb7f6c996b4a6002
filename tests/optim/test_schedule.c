/* test_schedule.c: learning-rate schedules: linear warm-up, cosine end points and shape, step decay at the
 * right epochs (every N and at milestones), kind parsing and value checks. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "optim/schedule.h"

static void check_constant_warmup(void) {
    df_schedule s = df_schedule_defaults(DF_SCHED_CONSTANT, 0.4f);
    s.warmup_steps = 4;
    df_error err;
    CHECK(df_schedule_check(&s, &err) == 0);
    /* (step + 1) / W of the base: 0.1, 0.2, 0.3, 0.4, then constant. */
    for (long t = 0; t < 4; t++) CHECK_CLOSE(df_schedule_lr(&s, t, 10), 0.1 * (t + 1), 1e-7, 1e-6);
    for (long t = 4; t < 50; t += 7) CHECK_CLOSE(df_schedule_lr(&s, t, 10), 0.4, 0, 1e-6);
    s.warmup_steps = 0;
    CHECK_CLOSE(df_schedule_lr(&s, 0, 10), 0.4, 0, 1e-6);
}

static void check_cosine(void) {
    df_schedule s = df_schedule_defaults(DF_SCHED_COSINE, 1.0f);
    s.min_lr = 0.1f;
    s.total_steps = 101;
    df_error err;
    CHECK(df_schedule_check(&s, &err) == 0);
    CHECK_CLOSE(df_schedule_lr(&s, 0, 1), 1.0, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 50, 1), 0.55, 0, 1e-6); /* half way: the mean of base and min */
    CHECK_CLOSE(df_schedule_lr(&s, 25, 1), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4)), 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 100, 1), 0.1, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 500, 1), 0.1, 0, 1e-6);
    float prev = 2.0f;
    int decreasing = 1;
    for (long t = 0; t < 101; t++) {
        float lr = df_schedule_lr(&s, t, 1);
        decreasing &= lr < prev;
        prev = lr;
    }
    CHECK(decreasing);

    /* With warm-up the cosine starts at the end of the warm-up and still ends at step total - 1. */
    s.warmup_steps = 10;
    CHECK_CLOSE(df_schedule_lr(&s, 0, 1), 0.1, 0, 1e-6); /* 1/10 of the base */
    CHECK_CLOSE(df_schedule_lr(&s, 4, 1), 0.5, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 9, 1), 1.0, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 10, 1), 1.0, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 55, 1), 0.55, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 100, 1), 0.1, 0, 1e-6);
}

static void check_step(void) {
    df_schedule s = df_schedule_defaults(DF_SCHED_STEP, 1.0f);
    s.gamma = 0.5f;
    s.step_epochs = 3;
    df_error err;
    CHECK(df_schedule_check(&s, &err) == 0);
    const long spe = 7; /* steps per epoch */
    /* Epochs 0-2: 1, 3-5: 0.5, 6-8: 0.25. */
    CHECK_CLOSE(df_schedule_lr(&s, 0, spe), 1.0, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 3 * spe - 1, spe), 1.0, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 3 * spe, spe), 0.5, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 6 * spe - 1, spe), 0.5, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 6 * spe, spe), 0.25, 0, 1e-7);

    s.n_milestones = 2;
    s.milestones[0] = 2;
    s.milestones[1] = 5;
    s.gamma = 0.1f;
    CHECK(df_schedule_check(&s, &err) == 0);
    CHECK_CLOSE(df_schedule_lr(&s, 2 * spe - 1, spe), 1.0, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 2 * spe, spe), 0.1, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 5 * spe - 1, spe), 0.1, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 5 * spe, spe), 0.01, 0, 1e-6);
    CHECK_CLOSE(df_schedule_lr(&s, 50 * spe, spe), 0.01, 0, 1e-6);

    /* Warm-up scales the step schedule too. */
    s.warmup_steps = 2;
    CHECK_CLOSE(df_schedule_lr(&s, 0, spe), 0.5, 0, 1e-7);
    CHECK_CLOSE(df_schedule_lr(&s, 2, spe), 1.0, 0, 1e-7);
}

static void check_parse_and_values(void) {
    df_error err;
    /* The names table is in the enum's order (configs bind names to kinds through it). */
    CHECK(!strcmp(df_schedule_kind_names[DF_SCHED_COSINE], "cosine") && !strcmp(df_schedule_kind_names[DF_SCHED_STEP], "step"));
    CHECK(!strcmp(df_schedule_kind_names[DF_SCHED_CONSTANT], "constant") && df_schedule_kind_names[3] == NULL);

    df_schedule s = df_schedule_defaults(DF_SCHED_COSINE, 0.1f);
    s.total_steps = 10;
    s.warmup_steps = 10;
    CHECK(df_schedule_check(&s, &err) == -1 && strstr(err.msg, "total_steps") != NULL);
    s.warmup_steps = 0;
    s.min_lr = 0.2f;
    CHECK(df_schedule_check(&s, &err) == -1 && strstr(err.msg, "min_lr") != NULL);
    s = df_schedule_defaults(DF_SCHED_STEP, 0.1f);
    s.n_milestones = 2;
    s.milestones[0] = 5;
    s.milestones[1] = 5;
    CHECK(df_schedule_check(&s, &err) == -1 && strstr(err.msg, "increase") != NULL);
    s.n_milestones = 0;
    s.step_epochs = 0;
    CHECK(df_schedule_check(&s, &err) == -1 && strstr(err.msg, "step_epochs") != NULL);
    s = df_schedule_defaults(DF_SCHED_CONSTANT, -1.0f);
    CHECK(df_schedule_check(&s, &err) == -1 && strstr(err.msg, "base lr") != NULL);
}

int main(void) {
    check_constant_warmup();
    check_cosine();
    check_step();
    check_parse_and_values();
    return check_report();
}
