/* cmd_synth.c: `dermfuse synth --out DIR [options]`: the command line of the synthetic dataset writer
 * (data/synth/synth_dataset.h). Bad options and a bad --from-metadata CSV give status 2, failures while writing 1. */
#include <stdio.h>
#include <string.h>

#include "data/synth/synth.h"
#include "data/synth/synth_dataset.h"
#include "train/cli/commands.h"

int df_cmd_synth(int argc, char **argv) {
    static const char *const formats[] = {"jpg", "png", NULL}, *const layouts[] = {"isic", "milk10k", NULL};
    df_synth_dataset_opts o;
    df_synth_dataset_defaults(&o);
    const char *format = "jpg", *layout = "isic";
    int n = 0, classes = 0, no_hair = 0, size = o.size, quality = o.quality, tone = o.skin_tone;
    double signal = o.signal, meta_signal = o.meta_signal, subgroup_signal = -1;
    df_arg_opt opts[] = {
        DF_OPT_REQUIRED("--out", &o.out, "DIR", "output folder (created)"),
        DF_OPT_INT("--n", &n, "N", "images (isic) or lesions (milk10k) to draw", "1000", 1, 100000000),
        DF_OPT_INT("--classes", &classes, "K", "classes (isic); milk10k always uses its 11", "2", 2,
                   DF_SYNTH_MAX_CLASSES),
        DF_OPT_INT("--size", &size, "S", "image side in pixels", "128", 16, 16384),
        DF_OPT_NUMBER("--signal", &signal, "X", "how strongly the image shows the class", "0.6", 0, 1),
        DF_OPT_NUMBER("--meta-signal", &meta_signal, "X", "how strongly age/sex/site depend on the class", "0.6", 0, 1),
        DF_OPT_U64("--seed", &o.seed, "S", "random seed; the same seed draws the same files", "1"),
        DF_OPT_CHOICE("--format", &format, "FMT", "image format", "jpg", formats),
        DF_OPT_INT("--quality", &quality, "Q", "JPEG quality", "92", 1, 100),
        DF_OPT_CHOICE("--layout", &layout, "LAYOUT", "dataset layout", "isic", layouts),
        DF_OPT_STRING("--from-metadata", &o.from_metadata, "CSV",
                      "isic: one image per row of an ISIC-DICM-17K split CSV (image, class)", NULL),
        DF_OPT_INT("--skin-tone", &tone, "T", "skin tone: 1..6 fixed, 0 drawn per image", "0", 0, 6),
        DF_OPT_FLAG("--no-hair", &no_hair, "draw no hairs"),
        DF_OPT_STRING("--subgroup", &o.subgroup, "COL=VALUE",
                      "a subgroup drawn with --subgroup-signal: sex=female|male, or a site (isic: "
                      "anatom_site_general=head/neck; milk10k: site=head_neck_face); with --from-metadata any column",
                      NULL),
        DF_OPT_NUMBER("--subgroup-signal", &subgroup_signal, "X", "the subgroup's image signal (needs --subgroup)",
                      NULL, 0, 1),
    };
    df_args_spec spec = {"synth", DF_SUMMARY_SYNTH, opts, sizeof opts / sizeof *opts, NULL, 0, DF_EXAMPLES_SYNTH};
    int st = df_args_parse(&spec, argc, argv, stdout, stderr);
    if (st)
        return df_args_exit_status(st);
    int milk = strcmp(layout, "milk10k") == 0;
    if (milk && o.from_metadata) {
        fprintf(stderr, "dermfuse synth: --from-metadata works with --layout isic only\n");
        return 2;
    }
    if (milk && classes && classes != DF_SYNTH_MAX_CLASSES) {
        fprintf(stderr, "dermfuse synth: --layout milk10k has 11 classes; --classes %d is not possible\n", classes);
        return 2;
    }
    if (o.from_metadata && n) {
        fprintf(stderr, "dermfuse synth: --n and --from-metadata exclude each other (one image per CSV row)\n");
        return 2;
    }
    if (!o.subgroup != (subgroup_signal < 0)) {
        fprintf(stderr, "dermfuse synth: --subgroup and --subgroup-signal go together (the subgroup and its image "
                "signal)\n");
        return 2;
    }
    o.subgroup_signal = (float)subgroup_signal;
    o.layout = milk ? DF_SYNTH_LAYOUT_MILK10K : DF_SYNTH_LAYOUT_ISIC;
    if (n)
        o.n = n;
    o.classes = classes;
    o.size = size;
    o.quality = quality;
    o.skin_tone = tone;
    o.signal = (float)signal;
    o.meta_signal = (float)meta_signal;
    o.png = strcmp(format, "png") == 0;
    o.hair = !no_hair;
    df_synth_dataset_report rep;
    df_error err;
    int rc = df_synth_dataset_write(&o, &rep, &err);
    if (rc) {
        fprintf(stderr, "dermfuse synth: %s\n", err.msg);
        return rc;
    }
    printf("dermfuse synth: wrote %ld images with their masks and %ld metadata rows to %s\n", rep.images, rep.rows,
           o.out);
    return 0;
}
