// SPDX-License-Identifier: GPL-2.0
/*
 * vnet_probe - an ICMP echo probe that checks every reply, byte by byte.
 *
 * busybox ping counts replies but checks neither the identifier, the
 * payload nor any checksum, so a driver that fakes the wire (virt_net
 * stage 4) could answer with garbage and still look fine.  This probe
 * sends N echo requests over a raw socket and verifies each reply: ICMP
 * type 0 code 0, identifier, sequence, payload bytes, ICMP checksum, IP
 * header checksum, and that it comes from the target.
 *
 * Build (static, for busybox-only userlands):
 *   arm-linux-gnueabi-gcc -static -O2 -Wall -Wextra -o vnet_probe vnet_probe.c
 *   gcc -static -O2 -Wall -Wextra -o vnet_probe vnet_probe.c   (host)
 *
 * Usage: vnet_probe [-c count] [-s size] [-i interval_ms] [-t timeout_ms]
 *                   [-l linger_ms] [-I id] target_ipv4
 *   -c  echo requests to send (default 3)
 *   -s  payload bytes per request (default 56, as ping)
 *   -i  milliseconds between requests (default 100; 0 sends them back to back)
 *   -t  milliseconds to wait for each reply (default 1000; -W is the same)
 *   -l  milliseconds to stay after the last reply, to catch duplicates (default 50)
 *   -I  ICMP identifier (default: the process id)
 * Payload byte i of request seq is (i*37 + seq*11 + (id & 0xff) + 0x5a) & 0xff.
 *
 * Output (stdout, one record per line, key=value fields) is documented in
 * the harness's parser, src/parsers/probe.ts.  Exit: 0 when every request
 * got exactly one valid reply in time, 1 otherwise, 2 on usage or socket
 * errors.  Needs root (or CAP_NET_RAW).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_FORMAT_VERSION 1
#define MAX_COUNT 10000
#define MAX_SIZE 65000
#define ICMP_HDR 8

enum seq_state { S_UNSENT, S_PENDING, S_ANSWERED, S_TIMEOUT, S_SENDERR };

struct probe {
	int fd;
	struct in_addr target;
	unsigned int count, size, interval_ms, timeout_ms, linger_ms;
	uint16_t id;
	unsigned char *state;
	int64_t *sent_us;
	unsigned int sent, valid, bad, received, timeouts, errors, ignored;
	unsigned int send_errors;
	int64_t rtt_min, rtt_max, rtt_sum;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The Internet checksum (RFC 1071); a valid header sums to 0. */
static uint16_t inet_csum(const unsigned char *p, size_t len)
{
	uint32_t sum = 0;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Payload byte i of request seq: a pattern that differs per id and seq. */
static unsigned char pattern(uint16_t id, unsigned int seq, unsigned int i)
{
	return (unsigned char)(i * 37u + seq * 11u + (id & 0xffu) + 0x5au);
}

static int payload_matches(const struct probe *pr, uint16_t id, unsigned int seq,
			   const unsigned char *p, size_t len)
{
	size_t i;

	if (len != pr->size)
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] != pattern(id, seq, (unsigned int)i))
			return 0;
	return 1;
}

static unsigned int get16(const unsigned char *p)
{
	return (unsigned int)(p[0] << 8 | p[1]);
}

static void send_request(struct probe *pr, unsigned int seq)
{
	static unsigned char buf[ICMP_HDR + MAX_SIZE];
	size_t len = ICMP_HDR + pr->size;
	struct sockaddr_in to;
	uint16_t csum;
	unsigned int i;

	memset(buf, 0, ICMP_HDR);
	buf[0] = 8; /* echo request */
	buf[4] = (unsigned char)(pr->id >> 8);
	buf[5] = (unsigned char)pr->id;
	buf[6] = (unsigned char)(seq >> 8);
	buf[7] = (unsigned char)seq;
	for (i = 0; i < pr->size; i++)
		buf[ICMP_HDR + i] = pattern(pr->id, seq, i);
	csum = inet_csum(buf, len);
	buf[2] = (unsigned char)(csum >> 8);
	buf[3] = (unsigned char)csum;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr = pr->target;
	pr->sent_us[seq] = now_us();
	if (sendto(pr->fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		int e = errno;

		pr->state[seq] = S_SENDERR;
		pr->send_errors++;
		printf("senderr seq=%u errno=%d msg=%s\n", seq, e, strerror(e));
		return;
	}
	pr->state[seq] = S_PENDING;
	pr->sent++;
}

static void add_reason(char *reasons, size_t size, const char *r)
{
	if (reasons[0])
		strncat(reasons, ",", size - strlen(reasons) - 1);
	strncat(reasons, r, size - strlen(reasons) - 1);
}

/* Reports an ICMP error (unreachable, time exceeded...) quoting our request. */
static void handle_icmp_error(struct probe *pr, struct in_addr src,
			      const unsigned char *icmp, size_t icmp_len)
{
	const unsigned char *inner = icmp + ICMP_HDR;
	size_t inner_ihl;

	if (icmp_len < ICMP_HDR + 20 || (inner[0] >> 4) != 4 || inner[9] != IPPROTO_ICMP) {
		pr->ignored++;
		return;
	}
	inner_ihl = (size_t)(inner[0] & 0x0f) * 4;
	if (icmp_len < ICMP_HDR + inner_ihl + ICMP_HDR ||
	    get16(inner + inner_ihl + 4) != pr->id) {
		pr->ignored++;
		return;
	}
	pr->errors++;
	printf("icmperr seq=%u type=%u code=%u from=%s\n",
	       get16(inner + inner_ihl + 6), icmp[0], icmp[1], inet_ntoa(src));
}

static void handle_packet(struct probe *pr, const unsigned char *pkt, size_t n, int64_t t)
{
	char reasons[128] = "";
	struct in_addr src, dst;
	const unsigned char *icmp;
	size_t ihl, tot, icmp_len;
	unsigned int type, code, id, seq;
	int from_target, ip_ok, icmp_ok, pay_ok, ours;
	char from[INET_ADDRSTRLEN];

	if (n < 20 || (pkt[0] >> 4) != 4) {
		pr->ignored++;
		return;
	}
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get16(pkt + 2);
	if (ihl < 20 || n < ihl + ICMP_HDR) {
		pr->ignored++;
		return;
	}
	if (tot > n || tot < ihl + ICMP_HDR)
		tot = n; /* checked below as a length error */
	memcpy(&src, pkt + 12, 4);
	memcpy(&dst, pkt + 16, 4);
	icmp = pkt + ihl;
	icmp_len = tot - ihl;
	type = icmp[0];
	code = icmp[1];
	id = get16(icmp + 4);
	seq = get16(icmp + 6);
	from_target = src.s_addr == pr->target.s_addr;

	if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12) {
		handle_icmp_error(pr, src, icmp, icmp_len);
		return;
	}
	/* Our own request, looped back on its way to the target (loopback). */
	if (type == 8 && dst.s_addr == pr->target.s_addr && id == pr->id)
		return;

	ours = id == pr->id;
	if (!ours && from_target && seq >= 1 && seq <= pr->count && pr->size >= 8 &&
	    payload_matches(pr, pr->id, seq, icmp + ICMP_HDR, icmp_len - ICMP_HDR))
		ours = 1; /* our payload, damaged identifier */
	if (!ours) {
		pr->ignored++;
		return;
	}

	pr->received++;
	ip_ok = inet_csum(pkt, ihl) == 0;
	icmp_ok = inet_csum(icmp, icmp_len) == 0;
	pay_ok = payload_matches(pr, pr->id, seq, icmp + ICMP_HDR, icmp_len - ICMP_HDR);
	if (type != 0)
		add_reason(reasons, sizeof(reasons), "type");
	if (code != 0)
		add_reason(reasons, sizeof(reasons), "code");
	if (id != pr->id)
		add_reason(reasons, sizeof(reasons), "id");
	if (seq < 1 || seq > pr->count || pr->state[seq] == S_UNSENT ||
	    pr->state[seq] == S_SENDERR)
		add_reason(reasons, sizeof(reasons), "seq");
	if (!from_target)
		add_reason(reasons, sizeof(reasons), "from");
	if (get16(pkt + 2) != n)
		add_reason(reasons, sizeof(reasons), "length");
	if (!ip_ok)
		add_reason(reasons, sizeof(reasons), "ip_csum");
	if (!icmp_ok)
		add_reason(reasons, sizeof(reasons), "icmp_csum");
	if (!pay_ok)
		add_reason(reasons, sizeof(reasons), "payload");
	if (seq >= 1 && seq <= pr->count) {
		if (pr->state[seq] == S_ANSWERED)
			add_reason(reasons, sizeof(reasons), "dup");
		else if (pr->state[seq] == S_TIMEOUT)
			add_reason(reasons, sizeof(reasons), "late");
	}

	snprintf(from, sizeof(from), "%s", inet_ntoa(src));
	printf("reply seq=%u id=0x%04x from=%s type=%u code=%u bytes=%zu ttl=%u",
	       seq, id, from, type, code, icmp_len, pkt[8]);
	if (seq >= 1 && seq <= pr->count && pr->state[seq] != S_UNSENT &&
	    pr->state[seq] != S_SENDERR)
		printf(" rtt_us=%lld", (long long)(t - pr->sent_us[seq]));
	printf(" icmp_csum=%s ip_csum=%s payload=%s", icmp_ok ? "ok" : "bad",
	       ip_ok ? "ok" : "bad", pay_ok ? "ok" : "bad");
	if (reasons[0]) {
		printf(" verdict=bad reasons=%s\n", reasons);
		pr->bad++;
		/* A damaged reply still answers its request: no timeout later. */
		if (seq >= 1 && seq <= pr->count && pr->state[seq] == S_PENDING)
			pr->state[seq] = S_ANSWERED;
		return;
	}
	printf(" verdict=ok\n");
	pr->state[seq] = S_ANSWERED;
	pr->valid++;
	{
		int64_t rtt = t - pr->sent_us[seq];

		if (pr->valid == 1 || rtt < pr->rtt_min)
			pr->rtt_min = rtt;
		if (pr->valid == 1 || rtt > pr->rtt_max)
			pr->rtt_max = rtt;
		pr->rtt_sum += rtt;
	}
}

/* Reads every packet waiting on the socket; returns -1 on a socket error. */
static int drain(struct probe *pr)
{
	static unsigned char buf[65536];

	for (;;) {
		ssize_t n = recv(pr->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			printf("error stage=recv errno=%d msg=%s\n", errno, strerror(errno));
			return -1;
		}
		handle_packet(pr, buf, (size_t)n, now_us());
	}
}

/* Marks requests whose reply is overdue; returns the earliest open deadline. */
static int64_t expire(struct probe *pr, int64_t now)
{
	int64_t next = -1;
	unsigned int s;

	for (s = 1; s <= pr->count; s++) {
		int64_t deadline;

		if (pr->state[s] != S_PENDING)
			continue;
		deadline = pr->sent_us[s] + (int64_t)pr->timeout_ms * 1000;
		if (now >= deadline) {
			pr->state[s] = S_TIMEOUT;
			pr->timeouts++;
			printf("timeout seq=%u\n", s);
		} else if (next < 0 || deadline < next) {
			next = deadline;
		}
	}
	return next;
}

static int wait_readable(struct probe *pr, int64_t until)
{
	struct pollfd pfd = { .fd = pr->fd, .events = POLLIN };
	int64_t left = until - now_us();
	int ms;

	if (left < 0)
		left = 0;
	ms = (int)((left + 999) / 1000);
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
		printf("error stage=poll errno=%d msg=%s\n", errno, strerror(errno));
		return -1;
	}
	return 0;
}

static int run(struct probe *pr)
{
	int64_t next_send = now_us(), linger_until = -1;
	unsigned int seq = 0;

	for (;;) {
		int64_t now = now_us(), deadline, until;

		if (seq < pr->count && now >= next_send) {
			send_request(pr, ++seq);
			next_send += (int64_t)pr->interval_ms * 1000;
			continue;
		}
		if (drain(pr) < 0)
			return -1;
		deadline = expire(pr, now_us());
		if (seq == pr->count && deadline < 0) {
			/* Everything resolved; stay a little to catch duplicates. */
			if (linger_until < 0)
				linger_until = now_us() + (int64_t)pr->linger_ms * 1000;
			if (now_us() >= linger_until)
				return 0;
		}
		until = linger_until >= 0 ? linger_until : deadline;
		if (seq < pr->count && (until < 0 || next_send < until))
			until = next_send;
		if (wait_readable(pr, until) < 0)
			return -1;
	}
}

static void usage(const char *msg)
{
	printf("error stage=usage errno=0 msg=%s\n", msg);
	fprintf(stderr,
		"vnet_probe: %s\n"
		"usage: vnet_probe [-c count] [-s size] [-i interval_ms] [-t timeout_ms]\n"
		"                  [-l linger_ms] [-I id] target_ipv4\n", msg);
	exit(2);
}

static unsigned int number(const char *arg, unsigned int max, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || *arg == '\0' || *end != '\0' || *arg == '-' || v > max) {
		static char msg[96];

		snprintf(msg, sizeof(msg), "bad %s '%.40s' (0..%u)", what, arg, max);
		usage(msg);
	}
	return (unsigned int)v;
}

int main(int argc, char **argv)
{
	struct probe pr;
	int opt, rc;

	memset(&pr, 0, sizeof(pr));
	pr.count = 3;
	pr.size = 56;
	pr.interval_ms = 100;
	pr.timeout_ms = 1000;
	pr.linger_ms = 50;
	pr.id = (uint16_t)getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((opt = getopt(argc, argv, "c:s:i:t:W:l:I:")) != -1) {
		switch (opt) {
		case 'c':
			pr.count = number(optarg, MAX_COUNT, "count");
			if (pr.count == 0)
				usage("count must be at least 1");
			break;
		case 's':
			pr.size = number(optarg, MAX_SIZE, "size");
			break;
		case 'i':
			pr.interval_ms = number(optarg, 3600000, "interval_ms");
			break;
		case 't':
		case 'W':
			pr.timeout_ms = number(optarg, 3600000, "timeout_ms");
			break;
		case 'l':
			pr.linger_ms = number(optarg, 3600000, "linger_ms");
			break;
		case 'I':
			pr.id = (uint16_t)number(optarg, 0xffff, "id");
			break;
		default:
			usage("unknown option");
		}
	}
	if (optind != argc - 1)
		usage("exactly one target address expected");
	if (inet_aton(argv[optind], &pr.target) == 0)
		usage("target is not an IPv4 address");

	pr.state = calloc(pr.count + 1, 1);
	pr.sent_us = calloc(pr.count + 1, sizeof(*pr.sent_us));
	if (!pr.state || !pr.sent_us) {
		printf("error stage=alloc errno=%d msg=%s\n", ENOMEM, strerror(ENOMEM));
		return 2;
	}
	pr.fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (pr.fd < 0) {
		printf("error stage=socket errno=%d msg=%s\n", errno, strerror(errno));
		return 2;
	}

	printf("probe version=%d target=%s id=0x%04x count=%u size=%u interval_ms=%u timeout_ms=%u\n",
	       PROBE_FORMAT_VERSION, inet_ntoa(pr.target), pr.id, pr.count, pr.size,
	       pr.interval_ms, pr.timeout_ms);
	rc = run(&pr);
	printf("summary sent=%u received=%u valid=%u bad=%u timeouts=%u errors=%u send_errors=%u ignored=%u",
	       pr.sent, pr.received, pr.valid, pr.bad, pr.timeouts, pr.errors,
	       pr.send_errors, pr.ignored);
	if (pr.valid > 0)
		printf(" rtt_min_us=%lld rtt_avg_us=%lld rtt_max_us=%lld",
		       (long long)pr.rtt_min, (long long)(pr.rtt_sum / pr.valid),
		       (long long)pr.rtt_max);
	printf("\n");
	close(pr.fd);
	if (rc < 0)
		return 2;
	return pr.valid == pr.count && pr.bad == 0 ? 0 : 1;
}
