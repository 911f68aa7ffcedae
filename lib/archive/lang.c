/*
 * lang.c - a file's language for the manifest: from its extension, a
 * well-known file name, or a "#!" line.  Tables, not logic: adding a
 * language is adding lines.
 */
#include "config.h"
#include <string.h>
#include <strings.h>
#include "archive/archive.h"
#include "archive/archive_int.h"

/* Index 0 is the answer when nothing matches. */
static const char *const names[] = {
	"other", "c", "cpp", "csharp", "objective-c", "go", "rust", "java", "kotlin",
	"scala", "groovy", "swift", "javascript", "typescript", "python", "ruby",
	"php", "perl", "shell", "powershell", "lua", "r", "dart", "elixir", "erlang",
	"haskell", "ocaml", "clojure", "sql", "html", "css", "vue", "svelte", "json",
	"yaml", "toml", "xml", "markdown", "terraform", "protobuf", "solidity", "zig",
	"assembly", "cmake", "makefile", "dockerfile", "starlark", "text",
};

enum { OTHER = 0, C, CPP, CSHARP, OBJC, GO, RUST, JAVA, KOTLIN, SCALA, GROOVY, SWIFT,
	JS, TS, PYTHON, RUBY, PHP, PERL, SHELL, PWSH, LUA, R, DART, ELIXIR, ERLANG,
	HASKELL, OCAML, CLOJURE, SQL, HTML, CSS, VUE, SVELTE, JSON, YAML, TOML, XML,
	MARKDOWN, TERRAFORM, PROTOBUF, SOLIDITY, ZIG, ASM, CMAKE, MAKEFILE, DOCKERFILE,
	STARLARK, TEXT, LANG__COUNT };

_Static_assert(sizeof names / sizeof names[0] == LANG__COUNT, "one name per language");

struct match {
	const char *s;
	int lang;
};

/* Extensions, compared exactly first (".C" is C++, ".c" is C), then
 * without regard to case. */
static const struct match extensions[] = {
	{"c", C}, {"h", C},
	{"cc", CPP}, {"cpp", CPP}, {"cxx", CPP}, {"c++", CPP}, {"C", CPP}, {"H", CPP},
	{"hh", CPP}, {"hpp", CPP}, {"hxx", CPP}, {"h++", CPP}, {"ipp", CPP}, {"inl", CPP},
	{"cs", CSHARP}, {"m", OBJC}, {"mm", OBJC},
	{"go", GO}, {"rs", RUST}, {"java", JAVA}, {"kt", KOTLIN}, {"kts", KOTLIN},
	{"scala", SCALA}, {"sc", SCALA}, {"groovy", GROOVY}, {"gradle", GROOVY},
	{"swift", SWIFT},
	{"js", JS}, {"mjs", JS}, {"cjs", JS}, {"jsx", JS},
	{"ts", TS}, {"tsx", TS}, {"mts", TS}, {"cts", TS},
	{"py", PYTHON}, {"pyw", PYTHON}, {"pyi", PYTHON},
	{"rb", RUBY}, {"rake", RUBY}, {"gemspec", RUBY}, {"ru", RUBY},
	{"php", PHP}, {"phtml", PHP}, {"php3", PHP}, {"php4", PHP}, {"php5", PHP},
	{"php7", PHP}, {"phps", PHP},
	{"pl", PERL}, {"pm", PERL}, {"t", PERL},
	{"sh", SHELL}, {"bash", SHELL}, {"zsh", SHELL}, {"ksh", SHELL},
	{"ps1", PWSH}, {"psm1", PWSH}, {"psd1", PWSH},
	{"lua", LUA}, {"r", R}, {"dart", DART}, {"ex", ELIXIR}, {"exs", ELIXIR},
	{"erl", ERLANG}, {"hrl", ERLANG}, {"hs", HASKELL}, {"ml", OCAML}, {"mli", OCAML},
	{"clj", CLOJURE}, {"cljs", CLOJURE}, {"cljc", CLOJURE},
	{"sql", SQL},
	{"html", HTML}, {"htm", HTML}, {"xhtml", HTML},
	{"css", CSS}, {"scss", CSS}, {"sass", CSS}, {"less", CSS},
	{"vue", VUE}, {"svelte", SVELTE},
	{"json", JSON}, {"yml", YAML}, {"yaml", YAML}, {"toml", TOML},
	{"xml", XML}, {"xsd", XML}, {"xsl", XML}, {"xslt", XML},
	{"md", MARKDOWN}, {"markdown", MARKDOWN},
	{"tf", TERRAFORM}, {"tfvars", TERRAFORM}, {"proto", PROTOBUF},
	{"sol", SOLIDITY}, {"zig", ZIG},
	{"s", ASM}, {"S", ASM}, {"asm", ASM},
	{"cmake", CMAKE}, {"mk", MAKEFILE}, {"mak", MAKEFILE},
	{"dockerfile", DOCKERFILE}, {"bzl", STARLARK}, {"bazel", STARLARK},
	{"txt", TEXT}, {"rst", TEXT},
};

/* Whole file names (the last path component), exact. */
static const struct match filenames[] = {
	{"Makefile", MAKEFILE}, {"makefile", MAKEFILE}, {"GNUmakefile", MAKEFILE},
	{"Dockerfile", DOCKERFILE}, {"Containerfile", DOCKERFILE},
	{"CMakeLists.txt", CMAKE},
	{"Gemfile", RUBY}, {"Rakefile", RUBY}, {"Vagrantfile", RUBY}, {"Podfile", RUBY},
	{"Jenkinsfile", GROOVY},
	{"BUILD", STARLARK}, {"WORKSPACE", STARLARK},
};

/* Interpreters named on a "#!" line (the command's base name, any
 * version suffix after these letters ignored: "python3.11"). */
static const struct match interpreters[] = {
	{"python", PYTHON}, {"node", JS}, {"nodejs", JS}, {"deno", JS}, {"bun", JS},
	{"ruby", RUBY}, {"perl", PERL}, {"php", PHP}, {"lua", LUA}, {"Rscript", R},
	{"pwsh", PWSH}, {"bash", SHELL}, {"sh", SHELL}, {"dash", SHELL}, {"zsh", SHELL},
	{"ksh", SHELL}, {"ash", SHELL}, {"groovy", GROOVY},
};

static int
by_name(const char *base)
{
	size_t i;

	for (i = 0; i < sizeof filenames / sizeof filenames[0]; i++)
		if (strcmp(base, filenames[i].s) == 0)
			return filenames[i].lang;
	if (strncmp(base, "Dockerfile.", 11) == 0)
		return DOCKERFILE;
	return OTHER;
}

static int
by_extension(const char *base)
{
	const char *dot = strrchr(base, '.');
	size_t i;

	if (!dot || dot == base || !dot[1])
		return OTHER;   /* no extension, or a dot file such as ".profile" */
	dot++;
	for (i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
		if (strcmp(dot, extensions[i].s) == 0)
			return extensions[i].lang;
	for (i = 0; i < sizeof extensions / sizeof extensions[0]; i++)
		if (strcasecmp(dot, extensions[i].s) == 0)
			return extensions[i].lang;
	return OTHER;
}

/* "#!/usr/bin/env -S python3 -u" -> python.  Only the first line of head
 * (n bytes) is looked at. */
static int
by_shebang(const char *head, size_t n)
{
	char line[128], *p, *cmd, *save = NULL;
	size_t len = 0, i;

	if (!head || n < 3 || head[0] != '#' || head[1] != '!')
		return OTHER;
	while (len + 2 < n && len < sizeof line - 1 && head[len + 2] != '\n')
		len++;
	memcpy(line, head + 2, len);
	line[len] = '\0';
	cmd = strtok_r(line, " \t\r", &save);
	if (!cmd)
		return OTHER;
	p = strrchr(cmd, '/');
	if (p)
		cmd = p + 1;
	if (strcmp(cmd, "env") == 0) {   /* skip env's options */
		while ((cmd = strtok_r(NULL, " \t\r", &save)) != NULL && cmd[0] == '-')
			;
		if (!cmd)
			return OTHER;
	}
	for (i = 0; i < sizeof interpreters / sizeof interpreters[0]; i++) {
		size_t k = strlen(interpreters[i].s);

		if (strncmp(cmd, interpreters[i].s, k) == 0 &&
		    strspn(cmd + k, "0123456789.") == strlen(cmd + k))
			return interpreters[i].lang;
	}
	return OTHER;
}

int
vg_archive_lang_index(const char *path, const void *head, size_t n)
{
	const char *base = strrchr(path, '/');
	int lang;

	base = base ? base + 1 : path;
	if ((lang = by_name(base)) != OTHER)
		return lang;
	if ((lang = by_extension(base)) != OTHER)
		return lang;
	return by_shebang(head, n);
}

const char *
vg_archive_lang_name(int index)
{
	if (index < 0 || index >= LANG__COUNT)
		return names[OTHER];
	return names[index];
}

int
vg_archive_lang_count(void)
{
	return LANG__COUNT;
}

const char *
vg_archive_language(const char *path, const void *head, size_t n)
{
	return vg_archive_lang_name(vg_archive_lang_index(path, head, n));
}
