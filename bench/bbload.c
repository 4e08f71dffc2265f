/*
 * bbload: the workloads of scripts/bench-recorder.sh, one static binary that
 * runs the same way inside a busybox container and directly on the host.
 *
 *   bbload WORKLOAD N [WORKLOAD N ...]   run each in turn, one result line each
 *     openread N    open a 4 KiB file, read it, close it; N times
 *     forkexec N    fork, exec this binary ("nop"), wait; N times
 *     tcp N         N request/response round trips of 64 bytes over loopback TCP
 *                   (the server is a child process)
 *   bbload flood SECONDS THREADS [SYSCALLS_PER_SECOND]
 *                 THREADS threads calling getppid() for SECONDS, all together at
 *                 most SYSCALLS_PER_SECOND (0 or absent: as fast as they can)
 *   bbload nop    exit 0 (what forkexec execs)
 *
 * Each workload first runs N/10 unmeasured iterations (page cache, TCP
 * connection, allocator), then times N with CLOCK_MONOTONIC, so container
 * start and stop are never in the number. Output, one line per workload:
 *   <workload> <N> <ns per iteration>
 *   flood <threads> <seconds measured> <syscalls> <syscalls per second> <CPU seconds used>
 * The openread file is $BBLOAD_DIR/bbload-openread.dat (BBLOAD_DIR default /tmp).
 * BBLOAD_OUT=PATH writes the result lines to PATH instead of stdout.
 * BBLOAD_CPU=N pins the process (and so every child and thread) to CPU N;
 * BBLOAD_CPU=here to the CPU it starts on. Not for flood.
 *
 * Build: gcc -static -O2 -pthread -o bbload bench/bbload.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static void die(const char *what)
{
	fprintf(stderr, "bbload: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long count_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || n < 0) {
		fprintf(stderr, "bbload: %s is not a count\n", s);
		exit(2);
	}
	return n;
}

/* --- open/read/close ----------------------------------------------------- */

static char file_path[4096];

static void openread_setup(void)
{
	const char *dir = getenv("BBLOAD_DIR");
	char block[4096];
	snprintf(file_path, sizeof(file_path), "%s/bbload-openread.dat", dir && *dir ? dir : "/tmp");
	int fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(file_path);
	memset(block, 'x', sizeof(block));
	if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
		die("write the openread file");
	close(fd);
}

static void openread(long n)
{
	char buf[4096];
	for (long i = 0; i < n; i++) {
		int fd = open(file_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			die(file_path);
		if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			die("read");
		close(fd);
	}
}

/* --- fork + exec ------------------------------------------------------------ */

static char self_path[4096];

static void forkexec_setup(void)
{
	ssize_t n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	self_path[n] = '\0';
}

static void forkexec(long n)
{
	char *argv[] = {"bbload", "nop", NULL};
	char *envp[] = {NULL};
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			execve(self_path, argv, envp);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid)
			die("waitpid");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bbload: exec of %s failed (status %d)\n", self_path, status);
			exit(2);
		}
	}
}

/* --- TCP request/response over loopback --------------------------------------- */

static int tcp_fd = -1;
static pid_t tcp_server = -1;

static int full_io(int fd, char *buf, int write_it)
{
	size_t done = 0;
	while (done < MSG) {
		ssize_t r = write_it ? write(fd, buf + done, MSG - done) : read(fd, buf + done, MSG - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static void tcp_setup(void)
{
	int one = 1;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(addr);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len))
		die("listen on 127.0.0.1");
	tcp_server = fork();
	if (tcp_server < 0)
		die("fork");
	if (tcp_server == 0) {
		char buf[MSG];
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			_exit(1);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (full_io(c, buf, 0) == 0 && full_io(c, buf, 1) == 0)
			;
		_exit(0);
	}
	close(lfd);
	tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tcp_fd < 0 || connect(tcp_fd, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect to 127.0.0.1");
	setsockopt(tcp_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void tcp(long n)
{
	char buf[MSG];
	memset(buf, 'q', sizeof(buf));
	for (long i = 0; i < n; i++)
		if (full_io(tcp_fd, buf, 1) || full_io(tcp_fd, buf, 0))
			die("tcp round trip");
}

static void tcp_teardown(void)
{
	close(tcp_fd);
	waitpid(tcp_server, NULL, 0);
}

/* --- flood ------------------------------------------------------------------ */

struct flood_arg {
	uint64_t end_ns;
	double per_thread_rate; /* syscalls per second, 0 = unlimited */
	uint64_t calls;
};

static void *flood_thread(void *p)
{
	struct flood_arg *a = p;
	const long batch = 1000;
	uint64_t start = now_ns(), calls = 0;
	for (;;) {
		for (long i = 0; i < batch; i++)
			syscall(SYS_getppid);
		calls += batch;
		uint64_t t = now_ns();
		if (t >= a->end_ns)
			break;
		if (a->per_thread_rate > 0) {
			/* Where this many calls are due; sleep until then. */
			uint64_t due = start + (uint64_t)((double)calls * 1e9 / a->per_thread_rate);
			if (due > t) {
				struct timespec ts = {.tv_sec = due / 1000000000u, .tv_nsec = due % 1000000000u};
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
		}
	}
	a->calls = calls;
	return NULL;
}

static void flood(long seconds, long threads, long rate)
{
	pthread_t tid[256];
	struct flood_arg args[256];
	if (threads < 1 || threads > 256 || seconds < 1) {
		fprintf(stderr, "bbload: flood SECONDS>=1 THREADS in 1..256 [RATE]\n");
		exit(2);
	}
	uint64_t t0 = now_ns();
	for (long i = 0; i < threads; i++) {
		args[i] = (struct flood_arg){.end_ns = t0 + (uint64_t)seconds * 1000000000u,
					     .per_thread_rate = (double)rate / (double)threads};
		if (pthread_create(&tid[i], NULL, flood_thread, &args[i]))
			die("pthread_create");
	}
	uint64_t total = 0;
	for (long i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += args[i].calls;
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("flood %ld %.3f %llu %.0f %.3f\n", threads, secs, (unsigned long long)total,
	       (double)total / secs, cpu);
}

/* --- main ------------------------------------------------------------------ */

static void pin_cpu(void)
{
	const char *want = getenv("BBLOAD_CPU");
	if (!want || !*want)
		return;
	int cpu = strcmp(want, "here") == 0 ? sched_getcpu() : (int)count_arg(want);
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

struct workload {
	const char *name;
	void (*setup)(void);
	void (*run)(long n);
	void (*teardown)(void);
};

static const struct workload workloads[] = {
	{"openread", openread_setup, openread, NULL},
	{"forkexec", forkexec_setup, forkexec, NULL},
	{"tcp", tcp_setup, tcp, tcp_teardown},
};

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "nop") == 0)
		return 0;
	signal(SIGPIPE, SIG_IGN);
	/* A file in the rootfs: `ctr run --rm` was seen to lose a container's
	 * last output line now and then (docs/performance.md). */
	const char *out = getenv("BBLOAD_OUT");
	if (out && *out && !freopen(out, "w", stdout))
		die(out);
	if (argc >= 4 && strcmp(argv[1], "flood") == 0) {
		flood(count_arg(argv[2]), count_arg(argv[3]), argc > 4 ? count_arg(argv[4]) : 0);
		return 0;
	}
	pin_cpu(); /* workloads only: a flood's threads spread over the CPUs */
	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: bbload WORKLOAD N [WORKLOAD N ...] | flood SECONDS THREADS [RATE] | nop\n");
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		const struct workload *w = NULL;
		for (size_t k = 0; k < sizeof(workloads) / sizeof(workloads[0]); k++)
			if (strcmp(argv[i], workloads[k].name) == 0)
				w = &workloads[k];
		if (!w) {
			fprintf(stderr, "bbload: unknown workload %s\n", argv[i]);
			return 2;
		}
		long n = count_arg(argv[i + 1]);
		if (n < 1) {
			fprintf(stderr, "bbload: %s needs N >= 1\n", argv[i]);
			return 2;
		}
		w->setup();
		w->run(n / 10 > 0 ? n / 10 : 1);
		uint64_t t0 = now_ns();
		w->run(n);
		uint64_t t1 = now_ns();
		if (w->teardown)
			w->teardown();
		printf("%s %ld %.1f\n", w->name, n, (double)(t1 - t0) / (double)n);
		fflush(stdout);
	}
	return 0;
}
