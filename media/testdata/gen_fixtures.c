/* gen_fixtures.c writes the JPEG fixtures Go's encoder and ffmpeg cannot:
 *   cmyk.jpg        480×360 CMYK, left half red, right half blue, stored
 *                   Adobe-style (inverted: 255 = no ink) as Photoshop does;
 *   progressive.jpg 1000×750 progressive YCbCr 4:2:0, gradient plus noise.
 * Build: gcc gen_fixtures.c -lturbojpeg -o gen_fixtures && ./gen_fixtures */
#include <stdio.h>
#include <stdlib.h>
#include <turbojpeg.h>

static int save(const char *name, unsigned char *px, int w, int h, int pf, int samp, int q, int flags) {
	tjhandle t = tjInitCompress();
	unsigned char *jpg = NULL;
	unsigned long n = 0;
	if (tjCompress2(t, px, w, 0, h, pf, &jpg, &n, samp, q, flags) != 0) {
		fprintf(stderr, "%s: %s\n", name, tjGetErrorStr2(t));
		return 1;
	}
	FILE *f = fopen(name, "wb");
	fwrite(jpg, 1, n, f);
	fclose(f);
	tjFree(jpg);
	tjDestroy(t);
	return 0;
}

int main(void) {
	int w = 480, h = 360;
	unsigned char *px = malloc(w * h * 4);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = px + (y * w + x) * 4;
			int c = x < w / 2 ? 0 : 255, m = 255, yy = x < w / 2 ? 255 : 0, k = 0; /* ink */
			p[0] = 255 - c; p[1] = 255 - m; p[2] = 255 - yy; p[3] = 255 - k;
		}
	if (save("cmyk.jpg", px, w, h, TJPF_CMYK, TJSAMP_444, 90, 0)) return 1;
	free(px);

	w = 1000, h = 750;
	px = malloc(w * h * 3);
	unsigned seed = 1;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			unsigned char *p = px + (y * w + x) * 3;
			seed = seed * 1664525u + 1013904223u;
			int n = (int)(seed >> 24) % 13 - 6;
			p[0] = 60 + x * 150 / w + n; p[1] = 80 + y * 100 / h + n; p[2] = 120 + n;
		}
	return save("progressive.jpg", px, w, h, TJPF_RGB, TJSAMP_420, 85, TJFLAG_PROGRESSIVE);
}
