/* study_report.c: the study's report.html (see study.h and report.h): the text that says what the data, the
 * split and every test are, and the first seed's runs as the report's models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io/files.h"
#include "train/study/study.h"

static void about_text(const df_study_cfg *st, const df_study_run *res, const df_study_data *d, FILE *f) {
    fprintf(f, "Study %s compares %d model(s) (", st->name, st->n_models);
    for (int m = 0; m < st->n_models; m++) fprintf(f, "%s%s", m ? ", " : "", st->models[m]);
    char *config = df_path_shown(st->config), *source = df_path_shown(d->source);
    fprintf(f, ") trained from %s with %d seed(s) (", config, st->n_seeds);
    for (int s = 0; s < st->n_seeds; s++) fprintf(f, "%s%ld", s ? ", " : "", st->seeds[s]);
    if (st->folds) fprintf(f, "), each seed a %d-fold cross-validation of the training file (%d runs per model", st->folds,
                           df_study_n_reps(st));
    fprintf(f, ").\n\nData: %s layout, read from %s; %d classes (", df_layout_names[d->layout], source, d->K);
    free(config);
    free(source);
    for (int k = 0; k < d->K; k++) fprintf(f, "%s%s", k ? ", " : "", d->class_names[k]);
    fprintf(f, "), %d image view(s), metadata encoded into %d features (numeric columns standardised with training "
            "statistics plus missing indicators, categorical columns one-hot over the training vocabulary).\n\n",
            d->n_views, d->meta_dim);
    char first[64];
    fprintf(f, "Split (%s): %d training, %d validation and %d test samples. ",
            df_study_rep_name(st, 0, first, sizeof first), res[0].n_split[0], res[0].n_split[1], res[0].n_split[2]);
    if (st->folds)
        fprintf(f, "The test split is one of %d grouped, stratified folds of the training file, each fold tested "
                "once per seed; ", st->folds);
    else if (d->test_file)
        fprintf(f, "The test split is the test file; ");
    else
        fprintf(f, "The test split is a stratified %.0f%% hold-out of the training file; ", 100 * d->test_fraction);
    if (!d->validated)
        fprintf(f, "there is no validation split");
    else if (d->split == DF_SPLIT_PUBLISHED)
        fprintf(f, "validation is the published validation file");
    else
        fprintf(f, "validation is a stratified %.0f%% hold-out of the training file", 100 * d->valid_fraction);
    if (d->group_by && d->group_by[0]) fprintf(f, ", grouped by %s so that no group straddles two splits", d->group_by);
    fprintf(f, ". Each run is tested with the weights of its %s; every figure below is measured on the test split "
            "with those weights.\n\n", d->test_checkpoint == DF_TEST_LAST ? "last epoch" : "best validation epoch");
    fprintf(f, "Tests. Accuracy, precision, recall (sensitivity), specificity and F1 use the threshold 0.5 on the "
            "positive class's probability (argmax for more classes, with macro averages); balanced accuracy is the "
            "mean recall over classes. The AUC's 95%% interval is the percentile bootstrap over %d resamples of "
            "the test samples. DeLong's test compares each model's AUC with the baseline %s on the same test "
            "samples (correlated ROC curves); McNemar's test compares their paired right/wrong decisions (exact "
            "binomial below 25 discordant pairs). These tests use the first %s's test split (results.csv has them "
            "for every %s's own split); %s\n\n", st->bootstrap, df_fusion_names[st->baseline],
            st->folds ? "fold" : "seed", st->folds ? "fold" : "seed",
            st->folds ? "values over folds are mean ± standard deviation; the verdict adds the corrected resampled "
                        "t-test over the folds and DeLong on the pooled out-of-fold predictions."
            : st->n_seeds > 1 ? "values over seeds are mean ± standard deviation."
                              : "with one seed there is no spread over seeds to show.");
    /* The verdict itself is the report's first section (report_verdict below). */
    for (int m = 0; m < st->n_models; m++)
        if (res[m].late_combine >= 0 && res[m].late_combine != DF_LATE_STACKING)
            fprintf(f, "\nLate fusion (%s, %s rule): the image model's weight is %.2f on %s.\n", st->models[m],
                    df_late_rule_names[res[m].late_combine], res[m].late_weight, first);
    fprintf(f, "\n");
    fprintf(f, "Analyses (first seed). Silhouette (-1..1, higher: classes better separated) and the Davies-Bouldin "
            "index (lower is better) measure how well the penultimate features separate the true classes; the "
            "scatter plots show the same features projected on their first two principal components. Grad-CAM "
            "weights the last feature maps of the (first) image backbone by the spatial mean of the gradient of "
            "the predicted class's logit, keeps the positive part and upsamples it to the image; the heat-map index "
            "is the share of that heat inside the lesion mask (1: all on the lesion), averaged over up to %d test "
            "images with a known mask. Late fusion is explained through its image model.",
            st->gradcam_samples);
}

/* The study's verdict (study_verdict.c) in the report's terms; the arrays hold what verdict points to. */
static void report_verdict(const df_study_cfg *st, const df_study_data *d, df_report_best *best,
                           df_report_comparison *cmp, char warn_text[2][300], const char **warnings,
                           df_report_verdict *out) {
    static const char *const tests[DF_VERDICT_METRICS] = {"DeLong, AUC", "McNemar, balanced accuracy",
                                                          "McNemar, F1"};
    const df_study_verdict *v = &d->verdict;
    memset(out, 0, sizeof *out);
    for (int k = 0; k < DF_VERDICT_METRICS; k++) {
        best[k] = (df_report_best){df_study_verdict_metrics[k], st->models[v->best[k]], v->mean[k][v->best[k]]};
        for (int m = 0; m < st->n_models && v->baseline >= 0; m++) {
            if (m == v->baseline || isnan(v->p[k][m])) continue;
            cmp[out->n_comparisons++] = (df_report_comparison){st->models[m], st->models[v->baseline], tests[k],
                                                               v->p[k][m], v->p_holm[k][m], v->p_holm[k][m] < 0.05};
        }
    }
    out->n_best = DF_VERDICT_METRICS;
    out->best = best;
    out->comparisons = cmp;
    if (v->warn_one_seed)
        snprintf(warn_text[out->n_warnings++], 300, "one seed: no spread over seeds and no agreement between "
                 "splits; treat differences as provisional");
    if (v->warn_small_test)
        snprintf(warn_text[out->n_warnings++], 300, "the test split's smallest class has %d samples (fewer than "
                 "100): the tests have little power", v->min_class_test);
    for (int i = 0; i < out->n_warnings; i++) warnings[i] = warn_text[i];
    out->warnings = warnings;
}

int df_study_write_report(const df_study_cfg *st, const df_study_run *res, const df_study_data *data,
                          const df_report_table *tables, int n_tables, const df_report_section *sections,
                          int n_sections, const char *path, df_error *err) {
    df_report_model *models = df_calloc((size_t)st->n_models, sizeof *models);
    const char *curve_names[DF_STUDY_MAX_MODELS][2];
    for (int m = 0; m < st->n_models; m++) {
        const df_study_run *r = &res[m];
        df_report_model *md = &models[m];
        md->name = st->models[m];
        md->n = r->p.n;
        md->prob = r->p.prob;
        md->labels = r->p.labels;
        md->n_curves = r->n_curves;
        md->curves = r->curves;
        for (int c = 0; c < r->n_curves; c++) curve_names[m][c] = r->curve_names[c];
        md->curve_names = curve_names[m];
        if (r->has_sep) {
            md->n_embed = r->sep.n;
            md->embed = r->sep.pca;
            md->embed_labels = r->sep.labels;
            md->explained[0] = r->sep.explained[0];
            md->explained[1] = r->sep.explained[1];
        }
        if (r->has_cam) {
            md->n_overlays = r->cam.n_overlays;
            md->overlay_paths = (const char *const *)r->cam.overlay_paths;
            md->overlay_captions = (const char *const *)r->cam.captions;
        }
    }
    df_report_best best[DF_VERDICT_METRICS];
    df_report_comparison cmp[DF_VERDICT_METRICS * DF_STUDY_MAX_MODELS];
    char warn_text[2][300];
    const char *warnings[2];
    df_report_verdict verdict;
    report_verdict(st, data, best, cmp, warn_text, warnings, &verdict);
    char *about = NULL, title[400];
    size_t about_len = 0;
    FILE *f = open_memstream(&about, &about_len);
    about_text(st, res, data, f);
    fclose(f);
    snprintf(title, sizeof title, "dermfuse study %s", st->name);
    df_report rep = {title, about, data->K, (const char *const *)data->class_names, n_tables, tables,
                     st->n_models, models};
    const df_report_extra extra = {.verdict = &verdict, .n_sections = n_sections, .sections = sections};
    int rc = df_report_write(&rep, &extra, path, err);
    free(about);
    free(models);
    return rc;
}
