/* femtovm command line: parse options, load and validate the configuration,
 * build the VM, run it, and map how it ended to the process exit code. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "jail/seccomp.h"
#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/controller.h"
#include "vmm/vm.h"

#define ID_MAX 64

#define DEFAULT_API_SOCK "/run/femtovm.socket"

static const char usage_text[] =
	"Usage: femtovm [--api-sock PATH] [--config-file FILE] [OPTIONS]\n"
	"       femtovm --no-api --config-file FILE [OPTIONS]\n"
	"\n"
	"Run one KVM microVM, configured through a Firecracker-compatible HTTP API on a\n"
	"Unix socket and/or a Firecracker-format JSON configuration file. With a\n"
	"config file the VM boots at once; otherwise PUT /actions InstanceStart boots it.\n"
	"The process ends when the guest stops.\n"
	"\n"
	"Options:\n"
	"  --api-sock PATH     serve the API on this Unix socket (default "
	DEFAULT_API_SOCK ")\n"
	"  --no-api            no API server; needs --config-file\n"
	"  --config-file FILE  VM configuration (boot-source, machine-config, drives,\n"
	"                      network-interfaces, vsock, logger)\n"
	"  --http-api-max-payload-size BYTES\n"
	"                      largest request body the API accepts (default 51200)\n"
	"  --id ID             instance id reported by GET / (1-64 of [A-Za-z0-9-])\n"
	"  --log-path PATH     append monitor log lines to PATH instead of stderr\n"
	"  --level LEVEL       Error, Warning, Info (default) or Debug\n"
	"  --boot-timer        log the time at which the guest writes 123 to port 0x3f0\n"
	"  --prepare-mem-mib MIB\n"
	"                      before serving requests, create the KVM VM and its memory\n"
	"                      slots for MIB MiB of guest RAM (address space only, no\n"
	"                      memory allocated), so that InstanceStart or\n"
	"                      /snapshot/load of a VM of exactly that size skips KVM's\n"
	"                      memory-slot setup, which grows with the RAM size; a VM of\n"
	"                      another size is built as usual\n"
	"  --no-seccomp        do not install the per-thread seccomp filters (debugging\n"
	"                      only: the monitor is then not confined)\n"
	"  --version           print the version and exit\n"
	"  --help              print this help and exit\n"
	"\n"
	"Guest serial output (COM1) goes to stdout; stdin feeds the guest's serial\n"
	"input. Monitor messages go to stderr.\n"
	"\n"
	"Exit codes:\n"
	"  0  the guest reset or powered off (i8042 reset), or SIGINT/SIGTERM/SIGHUP\n"
	"  1  the VM or the API server could not be started (KVM, memory, kernel or\n"
	"     initrd loading, drive files, socket in use)\n"
	"  2  bad command line or configuration\n"
	"  3  guest failure: triple fault, failed VM entry, emulation failure\n"
	"  4  internal monitor error while the VM was running\n";

struct cli {
	const char *config_file, *api_sock, *id, *log_path, *level;
	bool no_api, boot_timer, no_seccomp;
	unsigned prepare_mem_mib;  /* 0: none */
	size_t max_payload;
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
	       O_NOSECCOMP, O_VERSION, O_HELP, O_PAYLOAD, O_PREPARE };
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
		{ "http-api-max-payload-size", required_argument, NULL, O_PAYLOAD },
		{ "prepare-mem-mib", required_argument, NULL, O_PREPARE },
		{ 0 },
	};
	int o;

	memset(c, 0, sizeof(*c));
	c->max_payload = HTTP_DEFAULT_MAX_BODY;
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
		case O_PAYLOAD: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > (1ULL << 30) || optarg[0] == '-') {
				fprintf(stderr, "femtovm: --http-api-max-payload-size: must be a "
					"number of bytes from 1 to 1073741824\n");
				goto usage;
			}
			c->max_payload = (size_t)v;
			break;
		}
		case O_PREPARE: {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);

			if (!*optarg || *end || v == 0 || v > CONFIG_MAX_MEM_MIB ||
			    optarg[0] == '-') {
				fprintf(stderr, "femtovm: --prepare-mem-mib: must be a number of "
					"MiB from 1 to %u\n", CONFIG_MAX_MEM_MIB);
				goto usage;
			}
			c->prepare_mem_mib = (unsigned)v;
			break;
		}
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
	if (c->no_api && c->api_sock) {
		fprintf(stderr, "femtovm: --no-api and --api-sock contradict each other\n");
		goto usage;
	}
	if (c->no_api && !c->config_file) {
		fprintf(stderr, "femtovm: --no-api needs --config-file FILE\n");
		goto usage;
	}
	if (!c->no_api && !c->api_sock)
		c->api_sock = DEFAULT_API_SOCK;
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

/* SIGINT/SIGTERM/SIGHUP: stop the VM (or, before boot, just leave). */
static void on_signal(struct el_handler *h, uint32_t events)
{
	struct controller *c = h->opaque;
	struct signalfd_siginfo si;
	char why[64];

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	snprintf(why, sizeof(why), "signal %s", strsignal((int)si.ssi_signo));
	if (c->vm) {
		vm_request_stop(c->vm, VM_EXIT_OK, why);
	} else {
		log_info("exiting on %s", why);
		c->el->stop = true;
	}
}

/* Termination signals are read from a signalfd on the event loop; they are
 * blocked before any thread exists so every thread inherits the mask. */
static int setup_signals(struct controller *c, struct el_handler *h)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* A client closing the API socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (vcpu_signals_init())
		return -EINVAL;
	*h = (struct el_handler){ signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK), on_signal, c };
	if (h->fd < 0)
		return -errno;
	return el_add(c->el, h, EPOLLIN);
}

int main(int argc, char **argv)
{
	struct vm_opts opts = { .serial_out = STDOUT_FILENO, .serial_in = STDIN_FILENO };
	struct vm_reserve prepared = { .kvm = { .kvm_fd = -1, .vm_fd = -1 } };
	char err[CONFIG_ERR_LEN];
	struct vm_config cfg;
	struct controller ctl;
	struct api_server api = { 0 };
	struct el_handler sig_h;
	struct event_loop el;
	struct cli cli;
	int ret, code;

	log_init();
	ret = parse_cli(argc, argv, &cli);
	if (ret)
		return ret > 0 ? 0 : VM_EXIT_USAGE;
	config_defaults(&cfg);
	if (cli.config_file && (config_load_file(cli.config_file, &cfg, err, sizeof(err)) ||
				config_check_files(&cfg, err, sizeof(err)))) {
		fprintf(stderr, "femtovm: invalid configuration: %s\n", err);
		config_free(&cfg);
		return VM_EXIT_USAGE;
	}
	if (apply_logging(&cli, &cfg)) {
		config_free(&cfg);
		return VM_EXIT_USAGE;
	}
	if (cli.no_seccomp) {
		log_warn("--no-seccomp: running WITHOUT seccomp filters; a compromised monitor "
			 "can make any system call. Use this for debugging only.");
	} else {
		opts.filter_vcpu = seccomp_install_vcpu;
		opts.filter_vmm = seccomp_install_vmm;
	}
	opts.boot_timer = cli.boot_timer;
	/* Before the API socket appears: a client that sees it gets the
	 * prepared VM. */
	if (cli.prepare_mem_mib) {
		if (vm_reserve_init(&prepared, cli.prepare_mem_mib)) {
			config_free(&cfg);
			return VM_EXIT_ERROR;
		}
		opts.reserve = &prepared;
	}
	if (el_init(&el)) {
		log_err("cannot create the event loop");
		return VM_EXIT_ERROR;
	}
	ctl_init(&ctl, &el, &opts, cli.id);
	if (setup_signals(&ctl, &sig_h)) {
		log_err("cannot set up signal handling");
		return VM_EXIT_ERROR;
	}
	if (cli.api_sock) {
		ret = api_server_init(&api, cli.api_sock, cli.max_payload, &el, ctl_handle_request, &ctl);
		if (ret) {
			log_err("cannot serve the API on %s: %s", cli.api_sock, strerror(-ret));
			config_free(&cfg);
			ctl_destroy(&ctl);
			return VM_EXIT_ERROR;
		}
		ctl.api = &api;
	}
	if (cli.config_file) {
		config_free(&ctl.cfg);
		ctl.cfg = cfg;
		if (ctl_start(&ctl, err, sizeof(err))) {
			log_err("%s", err);
			if (cli.api_sock)
				api_server_destroy(&api);
			ctl_destroy(&ctl);
			return VM_EXIT_ERROR;
		}
	}
	setup_terminal();
	ret = el_run(&el);
	if (ret)
		log_err("event loop failed: %s", strerror(-ret));
	code = ctl_finish(&ctl);
	if (ret && code == VM_EXIT_OK)
		code = VM_EXIT_INTERNAL;
	if (cli.api_sock)
		api_server_destroy(&api);
	ctl_destroy(&ctl);
	vm_reserve_destroy(&prepared);
	close(sig_h.fd);
	el_destroy(&el);
	return code;
}
