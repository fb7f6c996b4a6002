/* study_subgroups.c: the study's subgroup outputs (see study_eval.h): subgroups.csv (every run, column and
 * group), subgroup_gaps.csv (every run and column: best minus worst group, against the baseline's), and for
 * the first seed two tables in results.md and the report's section#subgroups. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/study/study_eval.h"

/* The grouping of run r by column `name`, or NULL. */
static const df_study_grouping *grouping(const df_study_run *r, const char *name) {
    for (int c = 0; r->groups && c < r->groups->n; c++)
        if (!strcmp(r->groups->col[c].column, name)) return &r->groups->col[c];
    return NULL;
}

static double auc_gap(const df_study_grouping *g, int *best, int *worst) {
    return g ? df_subgroup_gap(g->g, g->n_groups, DF_SUBGROUP_AUC, best, worst) : NAN;
}

/* "narrower" / "wider" / "equal" for a model's gap against the baseline's, "n/a" when either is undefined. */
static const char *versus(double gap, double base_gap) {
    if (isnan(gap) || isnan(base_gap)) return "n/a";
    return gap < base_gap ? "narrower" : gap > base_gap ? "wider" : "equal";
}

static void csv_rows(const df_study_cfg *st, const df_study_run *res, FILE *fs, FILE *fg) {
    char fb[16];
    fprintf(fs, "model,seed,fold,column,group,n,positives,min_class,status");
    for (int k = 0; k < DF_SUBGROUP_METRICS; k++)
        fprintf(fs, ",%s,%s_lo,%s_hi", df_subgroup_metric_names[k], df_subgroup_metric_names[k],
                df_subgroup_metric_names[k]);
    fprintf(fs, "\n");
    fprintf(fg, "model,seed,fold,column,metric,gap,best_group,worst_group,baseline_gap,vs_baseline\n");
    int base = st->baseline_index;
    for (int s = 0; s < df_study_n_reps(st); s++)
        for (int m = 0; m < st->n_models; m++) {
            const df_study_run *r = &res[s * st->n_models + m];
            for (int c = 0; r->groups && c < r->groups->n; c++) {
                const df_study_grouping *g = &r->groups->col[c];
                for (int i = 0; i < g->n_groups; i++) {
                    const df_subgroup *sg = &g->g[i];
                    fprintf(fs, "%s,%ld,%s,\"%s\",\"%s\",%d", st->models[m], df_study_rep_seed(st, s), df_study_fold_cell(st, s, fb, sizeof fb),
                            g->column, g->names[i], sg->n);
                    df_study_csv_number(fs, sg->positives >= 0 ? sg->positives : NAN, "%.0f");
                    fprintf(fs, ",%d,%s", sg->min_class, sg->too_small ? "too small" : "ok");
                    for (int k = 0; k < DF_SUBGROUP_METRICS; k++) {
                        df_study_csv_number(fs, sg->v[k].estimate, "%.6f");
                        df_study_csv_number(fs, sg->v[k].lo, "%.6f");
                        df_study_csv_number(fs, sg->v[k].hi, "%.6f");
                    }
                    fputc('\n', fs);
                }
                const df_study_grouping *bg = base >= 0 ? grouping(&res[s * st->n_models + base], g->column) : NULL;
                for (int k = 0; k < DF_SUBGROUP_METRICS; k++) {
                    int best, worst;
                    double gap = df_subgroup_gap(g->g, g->n_groups, k, &best, &worst);
                    double bgap = bg ? df_subgroup_gap(bg->g, bg->n_groups, k, NULL, NULL) : NAN;
                    fprintf(fg, "%s,%ld,%s,\"%s\",%s", st->models[m], df_study_rep_seed(st, s), df_study_fold_cell(st, s, fb, sizeof fb), g->column,
                            df_subgroup_metric_names[k]);
                    df_study_csv_number(fg, gap, "%.6f");
                    fprintf(fg, ",\"%s\",\"%s\"", best >= 0 ? g->names[best] : "", worst >= 0 ? g->names[worst] : "");
                    df_study_csv_number(fg, bgap, "%.6f");
                    fprintf(fg, ",%s\n", m == base ? "baseline" : versus(gap, bgap));
                }
            }
        }
}

static void value_cell(char *buf, size_t size, const df_subgroup_value *v) {
    if (isnan(v->estimate)) snprintf(buf, size, "n/a");
    else if (isnan(v->lo)) snprintf(buf, size, "%.3f", v->estimate);
    else snprintf(buf, size, "%.3f [%.3f, %.3f]", v->estimate, v->lo, v->hi);
}

/* table#subgroups: first seed, one row per column, group and model. */
static void groups_table(const df_study_cfg *st, const df_study_run *res, df_study_table *o) {
    const char *head[] = {"column", "group", "n (positives)", "model", "AUC [95% CI]", "sensitivity [95% CI]",
                          "specificity [95% CI]"};
    int rows = 0;
    for (int m = 0; m < st->n_models; m++)
        for (int c = 0; res[m].groups && c < res[m].groups->n; c++) rows += res[m].groups->col[c].n_groups;
    df_study_table_init(o, "subgroups", 7, rows, head);
    int row = 0;
    const df_study_groups *cols = res[0].groups;
    for (int c = 0; cols && c < cols->n; c++)
        for (int i = 0; i < cols->col[c].n_groups; i++)
            for (int m = 0; m < st->n_models; m++) {
                const df_study_grouping *g = grouping(&res[m], cols->col[c].column);
                if (!g || i >= g->n_groups) continue;
                const df_subgroup *sg = &g->g[i];
                char cell[96];
                df_study_table_set(o, row, 0, g->column);
                df_study_table_set(o, row, 1, g->names[i]);
                if (sg->positives >= 0) snprintf(cell, sizeof cell, "%d (%d)", sg->n, sg->positives);
                else snprintf(cell, sizeof cell, "%d (rarest class %d)", sg->n, sg->min_class);
                df_study_table_set(o, row, 2, cell);
                df_study_table_set(o, row, 3, st->models[m]);
                for (int k = 0; k < DF_SUBGROUP_METRICS; k++) {
                    if (sg->too_small) snprintf(cell, sizeof cell, k ? "" : "too small");
                    else value_cell(cell, sizeof cell, &sg->v[k]);
                    df_study_table_set(o, row, 4 + k, cell);
                }
                row++;
            }
    o->t.n_rows = row;
}

/* table#subgroup-gaps: per column and model the AUC gap on the first seed against the baseline's, and on how
 * many seeds it is narrower. */
static void gaps_table(const df_study_cfg *st, const df_study_run *res, df_study_table *o) {
    const char *head[] = {"column", "model", "AUC gap (best - worst)", "best group", "worst group",
                          "vs baseline", "narrower on seeds"};
    const df_study_groups *cols = res[0].groups;
    int base = st->baseline_index, n_cols = cols ? cols->n : 0;
    df_study_table_init(o, "subgroup-gaps", 7, n_cols * st->n_models, head);
    for (int c = 0; c < n_cols; c++)
        for (int m = 0; m < st->n_models; m++) {
            const char *name = cols->col[c].column;
            const df_study_grouping *g = grouping(&res[m], name);
            int row = c * st->n_models + m, best = -1, worst = -1, narrower = 0, compared = 0;
            double gap = auc_gap(g, &best, &worst), bgap = base >= 0 ? auc_gap(grouping(&res[base], name), NULL, NULL)
                                                                    : NAN;
            char cell[160];
            df_study_table_set(o, row, 0, name);
            df_study_table_set(o, row, 1, st->models[m]);
            df_study_fmt_number(cell, sizeof cell, gap, "%.3f");
            df_study_table_set(o, row, 2, cell);
            df_study_table_set(o, row, 3, best >= 0 ? g->names[best] : "n/a");
            df_study_table_set(o, row, 4, worst >= 0 ? g->names[worst] : "n/a");
            if (m == base) {
                df_study_table_set(o, row, 5, "(baseline)");
                df_study_table_set(o, row, 6, "");
                continue;
            }
            if (!isnan(gap) && !isnan(bgap)) snprintf(cell, sizeof cell, "%s by %.3f", versus(gap, bgap), fabs(gap - bgap));
            else snprintf(cell, sizeof cell, "n/a");
            df_study_table_set(o, row, 5, cell);
            for (int s = 0; s < df_study_n_reps(st) && base >= 0; s++) {
                double a = auc_gap(grouping(&res[s * st->n_models + m], name), NULL, NULL);
                double b = auc_gap(grouping(&res[s * st->n_models + base], name), NULL, NULL);
                if (isnan(a) || isnan(b)) continue;
                compared++;
                narrower += a < b;
            }
            if (compared) snprintf(cell, sizeof cell, "%d of %d", narrower, compared);
            else snprintf(cell, sizeof cell, "n/a");
            df_study_table_set(o, row, 6, cell);
        }
}

void df_study_subgroups_write(const df_study_cfg *st, const df_study_run *res, FILE *md, df_study_eval_out *out) {
    if (!res[0].groups) return;
    FILE *fs = open_memstream(&out->csv[2], &out->len[2]), *fg = open_memstream(&out->csv[3], &out->len[3]);
    csv_rows(st, res, fs, fg);
    fclose(fs);
    fclose(fg);
    df_study_table *groups = &out->tables[out->n_tables++], *gaps = &out->tables[out->n_tables++];
    groups_table(st, res, groups);
    gaps_table(st, res, gaps);
    groups->t.caption = "Per-subgroup metrics on the first seed's test split";
    gaps->t.caption = "Best minus worst subgroup AUC per column, against the baseline";
    char *text = NULL;
    size_t len = 0;
    FILE *ft = open_memstream(&text, &len);
    fprintf(ft, "For whom does metadata help? The test samples are grouped by each categorical metadata column and "
            "by age bands (<30, 30-44, 45-59, 60-74, >=75 years) of a numeric age column; a missing value is "
            "the group \"missing\". Per group: the AUC, and the sensitivity and specificity at the threshold 0.5, "
            "each with its 95%% percentile bootstrap interval over %d resamples of the group's samples. A group "
            "with fewer than %d samples or fewer than %d of some class is too small to judge: its count is shown, "
            "no metric. The gap is the best minus the worst group's AUC (groups that are not too small); a model "
            "whose gap is narrower than the baseline %s's treats the groups more evenly. The tables show the first "
            "seed; subgroups.csv and subgroup_gaps.csv hold every seed (and the gaps of sensitivity and "
            "specificity).", st->bootstrap, st->eval.subgroup_min_samples, st->eval.subgroup_min_class,
            df_fusion_names[st->baseline]);
    fclose(ft);
    fprintf(md, "\n## Subgroups (seed %ld, test split)\n\n%s\n\n", df_study_rep_seed(st, 0), text);
    df_study_table_markdown(gaps, md);
    fprintf(md, "\n");
    df_study_table_markdown(groups, md);
    out->text[out->n_sections] = text;
    df_report_table *rt = &out->report_tables[out->n_tables - 2];
    rt[0] = gaps->t;
    rt[1] = groups->t;
    out->sections[out->n_sections++] = (df_report_section){"subgroups", "Subgroups", text, NULL, 2, rt};
}
