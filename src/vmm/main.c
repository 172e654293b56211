/* femtovm command line: parse options, load and validate the configuration,
 * build the VM, run it, and map how it ended to the process exit code. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define ID_MAX 64

static const char usage_text[] =
	"Usage: femtovm --no-api --config-file FILE [OPTIONS]\n"
	"\n"
	"Run one KVM microVM described by a Firecracker-format JSON configuration.\n"
	"\n"
	"Options:\n"
	"  --config-file FILE  VM configuration (boot-source, machine-config, logger)\n"
	"  --no-api            do not serve the HTTP API (required in this build)\n"
	"  --api-sock PATH     serve the API on a Unix socket (not available yet)\n"
	"  --id ID             instance id for log lines (1-64 of [A-Za-z0-9-])\n"
	"  --log-path PATH     append monitor log lines to PATH instead of stderr\n"
	"  --level LEVEL       Error, Warning, Info (default) or Debug\n"
	"  --boot-timer        log the time at which the guest writes 123 to port 0x3f0\n"
	"  --no-seccomp        accepted for compatibility (no filters in this build)\n"
	"  --version           print the version and exit\n"
	"  --help              print this help and exit\n"
	"\n"
	"Guest serial output (COM1) goes to stdout; stdin feeds the guest's serial\n"
	"input. Monitor messages go to stderr.\n"
	"\n"
	"Exit codes:\n"
	"  0  the guest reset or powered off (i8042 reset), or SIGINT/SIGTERM/SIGHUP\n"
	"  1  the VM could not be started (KVM, memory, kernel or initrd loading)\n"
	"  2  bad command line or configuration\n"
	"  3  guest failure: triple fault, failed VM entry, emulation failure\n"
	"  4  internal monitor error while the VM was running\n";

struct cli {
	const char *config_file, *api_sock, *id, *log_path, *level;
	bool no_api, boot_timer, no_seccomp;
};

static int valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(id[i] == '-' || (id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
			return 0;
	return 1;
}

/* 0 = run, 1 = exit 0 (help/version), -1 = usage error (message printed). */
static int parse_cli(int argc, char **argv, struct cli *c)
{
	enum { O_API = 256, O_CONFIG, O_NOAPI, O_ID, O_LOGPATH, O_LEVEL, O_BOOTTIMER,
	       O_NOSECCOMP, O_VERSION, O_HELP };
	static const struct option opts[] = {
		{ "api-sock", required_argument, NULL, O_API },
		{ "config-file", required_argument, NULL, O_CONFIG },
		{ "no-api", no_argument, NULL, O_NOAPI },
		{ "id", required_argument, NULL, O_ID },
		{ "log-path", required_argument, NULL, O_LOGPATH },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "boot-timer", no_argument, NULL, O_BOOTTIMER },
		{ "no-seccomp", no_argument, NULL, O_NOSECCOMP },
		{ "version", no_argument, NULL, O_VERSION },
		{ "help", no_argument, NULL, O_HELP },
		{ 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	opterr = 0;
	while ((o = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_API: c->api_sock = optarg; break;
		case O_CONFIG: c->config_file = optarg; break;
		case O_NOAPI: c->no_api = true; break;
		case O_ID: c->id = optarg; break;
		case O_LOGPATH: c->log_path = optarg; break;
		case O_LEVEL: c->level = optarg; break;
		case O_BOOTTIMER: c->boot_timer = true; break;
		case O_NOSECCOMP: c->no_seccomp = true; break;
		case O_VERSION: printf("femtovm %s\n", FEMTOVM_VERSION); return 1;
		case O_HELP: fputs(usage_text, stdout); return 1;
		default:
			fprintf(stderr, "femtovm: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			goto usage;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "femtovm: unexpected argument '%s'\n", argv[optind]);
		goto usage;
	}
	if (c->id && !valid_id(c->id)) {
		fprintf(stderr, "femtovm: --id: must be 1-%d characters of [A-Za-z0-9-]\n", ID_MAX);
		goto usage;
	}
	if (c->api_sock || !c->no_api) {
		fprintf(stderr, "femtovm: this build has no API server; use --no-api --config-file FILE\n");
		goto usage;
	}
	if (!c->config_file) {
		fprintf(stderr, "femtovm: --no-api needs --config-file FILE\n");
		goto usage;
	}
	return 0;
usage:
	fprintf(stderr, "Try 'femtovm --help'.\n");
	return -1;
}

static int apply_logging(const struct cli *c, const struct vm_config *cfg)
{
	enum log_level level = cfg->logger.set ? cfg->logger.level : LOG_INFO;
	const char *path = c->log_path ? c->log_path : cfg->logger.log_path;
	int ret;

	if (c->level && log_parse_level(c->level, &level)) {
		fprintf(stderr, "femtovm: --level: must be Error, Warning, Info or Debug\n");
		return -EINVAL;
	}
	log_set_level(level);
	if (path && (ret = log_set_path(path))) {
		fprintf(stderr, "femtovm: log path %s: %s\n", path, strerror(-ret));
		return ret;
	}
	return 0;
}

static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
}

/* Pass keystrokes to the guest one by one, without local echo. Ctrl-C still
 * stops femtovm (ISIG stays on). */
static void setup_terminal(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	tio_saved = true;
	atexit(restore_terminal);
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

int main(int argc, char **argv)
{
	struct vm_opts opts = { .serial_out = STDOUT_FILENO, .serial_in = STDIN_FILENO };
	char err[CONFIG_ERR_LEN];
	struct vm_config cfg;
	struct vm vm;
	struct cli cli;
	sigset_t set;
	int ret;

	log_init();
	ret = parse_cli(argc, argv, &cli);
	if (ret)
		return ret > 0 ? 0 : VM_EXIT_USAGE;
	if (config_load_file(cli.config_file, &cfg, err, sizeof(err)) ||
	    config_check_files(&cfg, err, sizeof(err))) {
		fprintf(stderr, "femtovm: invalid configuration: %s\n", err);
		config_free(&cfg);
		return VM_EXIT_USAGE;
	}
	if (apply_logging(&cli, &cfg)) {
		config_free(&cfg);
		return VM_EXIT_USAGE;
	}
	if (cli.no_seccomp)
		log_warn("--no-seccomp: accepted, but this build installs no seccomp filters");
	/* Termination signals are read from a signalfd by the event loop; block
	 * them before any thread exists so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (vcpu_signals_init()) {
		log_err("cannot install the vCPU kick handler");
		return VM_EXIT_ERROR;
	}
	opts.boot_timer = cli.boot_timer;
	ret = vm_build_for_boot(&vm, &cfg, &opts);
	if (ret) {
		vm_destroy(&vm);
		config_free(&cfg);
		return VM_EXIT_ERROR;
	}
	setup_terminal();
	ret = vm_run(&vm);
	vm_destroy(&vm);
	config_free(&cfg);
	return ret;
}
