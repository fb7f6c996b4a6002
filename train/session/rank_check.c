/* rank_check.c: see rank_check.h. */
#include "train/session/rank_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dist/dist.h"
#include "train/config/config_schema.h"
#include "train/config/config_tree.h"

/* "<version>\n<config text>": what every rank sends, NUL included. */
static char *identity(const df_run_config *cfg, const char *version, size_t *bytes) {
    size_t nv = strlen(version), nc = strlen(cfg->text);
    char *s = df_malloc(nv + nc + 2);
    memcpy(s, version, nv);
    s[nv] = '\n';
    memcpy(s + nv + 1, cfg->text, nc + 1);
    *bytes = nv + nc + 2;
    return s;
}

/* The error for rank r, whose identity `other` differs from rank 0's `mine`. */
static int mismatch(const df_run_config *cfg, int r, const char *mine, const char *other, df_error *err) {
    size_t nv0 = strcspn(mine, "\n"), nv1 = strcspn(other, "\n");
    if (nv0 != nv1 || memcmp(mine, other, nv0))
        return df_fail(err, "rank %d runs dermfuse %.*s, rank 0 runs %.*s: every rank of a job must run the same "
                       "binary", r, (int)nv1, other, (int)nv0, mine);
    df_cfg_node *a = NULL, *b = NULL;
    char where[256] = "";
    df_error perr;
    int parsed = df_cfg_parse_string(mine + nv0 + 1, cfg->source, 0, "/", &a, &perr) == 0 &&
                 df_cfg_parse_string(other + nv1 + 1, cfg->source, 0, "/", &b, &perr) == 0;
    if (!parsed || !df_cfg_tree_diff(a, b, NULL, where, sizeof where)) snprintf(where, sizeof where, "(text)");
    where[strcspn(where, "[")] = '\0'; /* a list's item: the whole list */
    const df_cfg_node *va = parsed ? df_cfg_find(a, where) : NULL, *vb = parsed ? df_cfg_find(b, where) : NULL;
    const char *ta = va && va->kind == DF_CFG_NODE_SCALAR ? va->text : "...";
    const char *tb = vb && vb->kind == DF_CFG_NODE_SCALAR ? vb->text : "...";
    df_fail(err, "%s: rank %d resolved a different config than rank 0: %s is %s on rank %d and %s on rank 0; "
            "every rank of a job must be given the same config and --set options", cfg->source, r, where,
            vb ? tb : "(absent)", r, va ? ta : "(absent)");
    df_cfg_free(a);
    df_cfg_free(b);
    return -1;
}

int df_rank_check(const df_run_config *cfg, const char *version, df_error *err) {
    const df_dist *d = df_dist_training();
    int n = df_dist_size(d), me = df_dist_rank(d);
    if (n == 1) return 0;
    size_t bytes, *sizes = df_malloc(sizeof(size_t) * (size_t)n);
    char *mine = identity(cfg, version, &bytes);
    char *all = df_dist_gather(d, mine, bytes, 0, sizes);
    int bad = -1, rc = 0;
    if (me == 0) {
        size_t at = sizes[0];
        for (int r = 1; r < n && bad < 0; at += sizes[r], r++)
            if (sizes[r] != bytes || memcmp(all + at, mine, bytes)) {
                bad = r;
                rc = mismatch(cfg, r, mine, all + at, err);
            }
    }
    df_dist_bcast(d, &bad, sizeof bad, 0);
    free(all);
    free(mine);
    free(sizes);
    if (bad >= 0 && me != 0) df_dist_barrier(d); /* rank 0 ends the job with its message */
    return bad >= 0 ? -1 : rc;
}
