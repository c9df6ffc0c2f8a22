/*
 * fuzz_post.c - front matter (YAML/TOML) and shortcodes: the whole post
 * file through herald_post_load.  Errors are fine; crashes, leaks and
 * undefined behaviour are not.
 */
#include "fuzz_util.h"

#include "config.h"
#include "post.h"

static struct herald_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct herald_err e = {0};
	char path[512];

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/herald.yml", fuzz_site());
	if (herald_config_load(path, &cfg, &e) != 0) {
		fprintf(stderr, "fuzz_post: %s\n", e.msg);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct herald_post post;
	struct herald_err e = {0};
	const char *path = fuzz_file("post.md", NULL, data, size);

	memset(&post, 0, sizeof(post));
	if (herald_post_load(path, &cfg, "2030-01-07", &post, &e) == 0)
		herald_post_free(&post);
	return 0;
}
