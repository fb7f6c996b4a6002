/* svg.c: see svg.h. */
#include "train/report/svg.h"

#include <math.h>
#include <string.h>

void df_svg_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

void df_svg_open(FILE *f, const char *id, const char *cls, int width, int height, const char *title) {
    fputs("<svg id=\"", f);
    df_svg_escape(f, id);
    fputs("\" class=\"", f);
    df_svg_escape(f, cls);
    fprintf(f, "\" viewBox=\"0 0 %d %d\" width=\"100%%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\"><title>",
            width, height);
    df_svg_escape(f, title);
    fputs("</title>\n", f);
}

void df_svg_close(FILE *f) { fputs("</svg>\n", f); }

const char *df_svg_colour(int i) {
    /* Ten distinguishable hues (the Tableau 10 palette). */
    static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                            "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
    return palette[((i % 10) + 10) % 10];
}

double df_svg_px(const df_svg_plot *p, double x) {
    double span = p->x1 - p->x0;
    return p->left + (span > 0 ? (x - p->x0) / span : 0.5) * p->width;
}

double df_svg_py(const df_svg_plot *p, double y) {
    double span = p->y1 - p->y0;
    return p->top + p->height - (span > 0 ? (y - p->y0) / span : 0.5) * p->height;
}

/* Tick labels: as few digits as tell the ticks apart. */
static void tick_label(FILE *f, double v, double step) {
    int digits = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (digits > 6) digits = 6;
    fprintf(f, "%.*f", digits, fabs(v) < 1e-12 ? 0.0 : v);
}

void df_svg_axes(const df_svg_plot *p, const char *xlabel, const char *ylabel, int n_xticks, int n_yticks) {
    FILE *f = p->f;
    fprintf(f, "<g class=\"axes\" font-size=\"11\" fill=\"#333\">\n");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", p->left,
            p->top, p->width, p->height);
    for (int i = 0; i <= n_xticks; i++) {
        double v = p->x0 + (p->x1 - p->x0) * i / n_xticks, x = df_svg_px(p, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", x, p->top, x,
                p->top + p->height);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, p->top + p->height + 14);
        tick_label(f, v, (p->x1 - p->x0) / n_xticks);
        fputs("</text>\n", f);
    }
    for (int i = 0; i <= n_yticks; i++) {
        double v = p->y0 + (p->y1 - p->y0) * i / n_yticks, y = df_svg_py(p, v);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", p->left, y,
                p->left + p->width, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", p->left - 4, y + 4);
        tick_label(f, v, (p->y1 - p->y0) / n_yticks);
        fputs("</text>\n", f);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p->left + p->width / 2,
            p->top + p->height + 30);
    df_svg_escape(f, xlabel);
    fprintf(f, "</text>\n<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">",
            p->left - 36, p->top + p->height / 2);
    df_svg_escape(f, ylabel);
    fputs("</text>\n</g>\n", f);
}

void df_svg_polyline(const df_svg_plot *p, const double *x, const double *y, int n, const char *colour,
                     const char *cls, const char *dash) {
    FILE *f = p->f;
    int open = 0;
    for (int i = 0; i <= n; i++) {
        int ok = i < n && isfinite(x[i]) && isfinite(y[i]);
        if (ok && !open) {
            fputs("<polyline class=\"", f);
            df_svg_escape(f, cls);
            fprintf(f, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"", colour);
            if (dash) fprintf(f, " stroke-dasharray=\"%s\"", dash);
            fputs(" points=\"", f);
            open = 1;
        } else if (!ok && open) {
            fputs("\"/>\n", f);
            open = 0;
        }
        if (ok) fprintf(f, "%s%.1f,%.1f", open == 1 ? "" : " ", df_svg_px(p, x[i]), df_svg_py(p, y[i])), open = 2;
    }
}

void df_svg_points(const df_svg_plot *p, const float *xy, const int *labels, int n, double radius) {
    FILE *f = p->f;
    fputs("<g class=\"points\" fill-opacity=\"0.7\">\n", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\"/>\n", df_svg_px(p, xy[2 * i]),
                df_svg_py(p, xy[2 * i + 1]), radius, df_svg_colour(labels[i]));
    fputs("</g>\n", f);
}

double df_svg_text_width(const char *s, double font_size) {
    double em = 0;
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80 && (c & 0xc0) == 0x80) continue; /* UTF-8 continuation byte */
        if (strchr("iljtfrI.,:;'|!() []", c)) em += 0.36;
        else if (strchr("mwMW@%", c)) em += 0.95;
        else if (c >= 'A' && c <= 'Z') em += 0.72;
        else if (c >= '0' && c <= '9') em += 0.58;
        else em += 0.6;
    }
    return em * font_size;
}

/* Width of one legend entry: swatch, gap, text, space before the next entry. */
static double entry_width(const char *name) { return 24 + df_svg_text_width(name, 11) + 18; }

int df_svg_legend_rows(const char *const *names, int n, double width) {
    int rows = n > 0;
    double used = 0;
    for (int i = 0; i < n; i++) {
        double w = entry_width(names[i]);
        if (used > 0 && used + w > width) rows++, used = 0;
        used += w;
    }
    return rows;
}

void df_svg_legend(FILE *f, double x, double y, double width, const char *const *names,
                   const char *const *colours, const char *const *dashes, int n) {
    fprintf(f, "<g class=\"legend\" font-size=\"11\" fill=\"#333\">\n");
    double used = 0, yy = y;
    for (int i = 0; i < n; i++) {
        double w = entry_width(names[i]);
        if (used > 0 && used + w > width) yy += DF_SVG_LEGEND_ROW, used = 0;
        double xx = x + used;
        used += w;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"", xx, yy,
                xx + 18, yy, colours[i]);
        if (dashes && dashes[i]) fprintf(f, " stroke-dasharray=\"%s\"", dashes[i]);
        fprintf(f, "/><text class=\"legend-text\" x=\"%.1f\" y=\"%.1f\">", xx + 24, yy + 4);
        df_svg_escape(f, names[i]);
        fputs("</text>\n", f);
    }
    fputs("</g>\n", f);
}

void df_svg_colour_bar(FILE *f, double x, double y, double width, double height) {
    static const int stops[4][3] = {{0, 0, 255}, {0, 255, 255}, {255, 255, 0}, {255, 0, 0}};
    enum { STEPS = 48 };
    fputs("<g class=\"colour-bar\">\n", f);
    for (int i = 0; i < STEPS; i++) {
        double t = (i + 0.5) / STEPS * 3.0;
        int j = t >= 3.0 ? 2 : (int)t;
        double u = t - j;
        int rgb[3];
        for (int c = 0; c < 3; c++) rgb[c] = (int)lrint(stops[j][c] + u * (stops[j + 1][c] - stops[j][c]));
        fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"rgb(%d,%d,%d)\"/>", x + width * i / STEPS,
                y, width / STEPS + 0.3, height, rgb[0], rgb[1], rgb[2]);
    }
    fprintf(f, "\n<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#999\"/>\n", x, y, width,
            height);
    fprintf(f, "<g font-size=\"11\" fill=\"#333\"><text x=\"%.1f\" y=\"%.1f\">low</text>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">high</text>"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">Grad-CAM heat</text></g>\n</g>\n",
            x, y + height + 13, x + width, y + height + 13, x + width / 2, y + height + 13);
}
