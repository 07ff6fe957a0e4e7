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
 * With -F iface it talks through a packet socket bound to that interface
 * instead, as a real network would: it first sends frames the emulated peer
 * must not answer (an ARP request, an IPv6 packet, a UDP datagram, a frame
 * shorter than an IPv4 header, an ICMP echo request cut short of the length
 * its header claims, the first fragment of an echo request), then its echo
 * requests, each with a 40-byte IP record-route option (ihl 15, as ping -R
 * sends), and reports every frame that comes back from the interface: the
 * replies (whose options must come back unchanged) and anything else.
 *
 * It uses no C library: it is built against the kernel's own minimal one,
 * nolibc (tools/include/nolibc in the kernel source), and talks to the
 * kernel through raw system calls only (socket, sendmsg, recvmsg, ppoll or
 * poll, clock_gettime, getpid, write, close, exit; with -F also bind and
 * ioctl).  So it is a few KB, runs
 * on any board userland, and asks nothing of the board's kernel beyond those
 * calls.  The harness builds it (src/build/probe.ts); by hand:
 *   arm-linux-gnueabi-gcc -Os -s -static -nostdlib -fno-pie \
 *     -fno-asynchronous-unwind-tables -fno-ident -fno-stack-protector \
 *     -isystem <linux>/tools/include/nolibc -include nolibc.h \
 *     -Wall -Wextra -o vnet_probe vnet_probe.c -lgcc
 * (the same with gcc for the host; src/build/probe.ts has the exact flags).
 *
 * Usage: vnet_probe [-c count] [-s size] [-i interval_ms] [-t timeout_ms]
 *                   [-l linger_ms] [-I id] [-F iface] target_ipv4
 *   -c  echo requests to send (default 3)
 *   -s  payload bytes per request (default 56, as ping)
 *   -i  milliseconds between requests (default 100; 0 sends them back to back)
 *   -t  milliseconds to wait for each reply (default 1000; -W is the same)
 *   -l  milliseconds to stay after the last reply, to catch duplicates (default 50)
 *   -I  ICMP identifier (default: the process id)
 *   -F  frames through iface (from its own MAC and IPv4 address), see above
 * Numbers are read as strtoul(3) base 0 reads them (0x.. hex, 0.. octal);
 * the target as inet_aton(3) reads it.  Options and the target may come in
 * any order, as with GNU getopt.
 * Payload byte i of request seq is (i*37 + seq*11 + (id & 0xff) + 0x5a) & 0xff.
 *
 * Output (stdout, one record per line, each written with one write(2),
 * key=value fields) is documented in the harness's parser,
 * src/parsers/probe.ts.  Exit: 0 when every request got exactly one valid
 * reply in time (and, with -F, nothing else came back), 1 otherwise, 2 on
 * usage or socket errors.  Needs root (or CAP_NET_RAW).
 */
#ifndef NOLIBC
#error "build with -nostdlib -static -include nolibc.h (see the comment above)"
#endif
#include <linux/in.h>
#include <linux/uio.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>

#define PROBE_FORMAT_VERSION 3
#define MAX_COUNT 10000
#define MAX_SIZE 65000
#define ICMP_HDR 8

/* From the C library's headers, which this program does without. */
#define AF_INET 2
#define AF_PACKET 17
#define SOCK_RAW 3
#define MSG_DONTWAIT 0x40

/* The kernel's struct user_msghdr, as sendmsg(2) and recvmsg(2) take it. */
struct msg {
	void *name;
	int namelen;
	struct iovec *iov;
	size_t iovlen;
	void *control;
	size_t controllen;
	unsigned int flags;
};

enum seq_state { S_UNSENT, S_PENDING, S_ANSWERED, S_TIMEOUT, S_SENDERR };

struct probe {
	int fd;
	uint32_t target; /* network byte order, as s_addr */
	unsigned int count, size, interval_ms, timeout_ms, linger_ms;
	uint16_t id;
	unsigned int sent, valid, bad, received, timeouts, errors, ignored;
	unsigned int send_errors;
	int64_t rtt_min, rtt_max, rtt_sum;
	/* -F: the interface, its index, MAC and IPv4 address (as s_addr) */
	const char *iface;
	int ifindex;
	unsigned char mac[ETH_ALEN];
	uint32_t source;
	unsigned int frames, back, outgoing;
};

/* ifreq as SIOCGIF* take it: the name, then an index or a sockaddr. */
struct ifreq_buf {
	char name[16];
	union {
		int ifindex;
		struct {
			unsigned short family;
			unsigned char data[14];
		} addr;
		unsigned char pad[24];
	} u;
};

/* Frames sent with -F, told apart when they come back by EtherType or IP id. */
static const struct {
	const char *name;
	unsigned int ethertype, ip_id;
} kinds[] = {
	{ "arp", ETH_P_ARP, 0 },
	{ "ipv6", ETH_P_IPV6, 0 },
	{ "udp", ETH_P_IP, 0x7601 },
	{ "short", ETH_P_IP, 0x7602 },
	{ "truncated", ETH_P_IP, 0x7603 },
	{ "fragment", ETH_P_IP, 0x7604 },
	{ "echo", ETH_P_IP, 0x7610 },
};

#define KIND_ECHO 6
/* The IP option of the echo requests with -F: record route, 9 slots, then end of list. */
#define IP_OPT_LEN 40
static const unsigned char rr_option[IP_OPT_LEN] = { 7, 39, 4 };

/* Per sequence number (1..count): state and send time. In .bss: no allocator. */
static unsigned char state[MAX_COUNT + 1];
static int64_t sent_us[MAX_COUNT + 1];

/* ---- output: one record is built in a buffer and written at once ---- */

static char line[512];
static unsigned int line_len;

static void out_s(const char *s)
{
	while (*s && line_len < sizeof(line) - 1)
		line[line_len++] = *s++;
}

/* Writes at most n characters of s. */
static void out_sn(const char *s, unsigned int n)
{
	while (n-- && *s && line_len < sizeof(line) - 1)
		line[line_len++] = *s++;
}

static void out_u64(uint64_t v)
{
	char buf[21];
	int i = sizeof(buf);

	buf[--i] = '\0';
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_s(buf + i);
}

static void out_u(unsigned int v)
{
	out_u64(v);
}

static void out_i64(int64_t v)
{
	if (v < 0) {
		out_s("-");
		out_u64((uint64_t)0 - (uint64_t)v);
	} else {
		out_u64((uint64_t)v);
	}
}

/* 0x and four lowercase hex digits, as printf's 0x%04x for a 16-bit value. */
static void out_hex16(unsigned int v)
{
	static const char digits[] = "0123456789abcdef";
	char buf[7] = "0x";
	int i;

	for (i = 0; i < 4; i++)
		buf[2 + i] = digits[(v >> (12 - 4 * i)) & 0xf];
	buf[6] = '\0';
	out_s(buf);
}

/* Dotted quad of an address in network byte order, as inet_ntoa(3). */
static void out_ip(uint32_t addr)
{
	const unsigned char *b = (const unsigned char *)&addr;
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			out_s(".");
		out_u(b[i]);
	}
}

/* A field " key=" then its value comes next. */
static void out_key(const char *key)
{
	out_s(" ");
	out_s(key);
	out_s("=");
}

/* Ends the record with a newline and writes it to fd in one write(2). */
static void out_end(int fd)
{
	const char *p = line;

	line[line_len++] = '\n';
	while (line_len > 0) {
		ssize_t n = write(fd, p, line_len);

		if (n <= 0)
			break;
		p += n;
		line_len -= (unsigned int)n;
	}
	line_len = 0;
}

/* The C library's messages for the errors a probe meets; others by number. */
static const struct {
	int e;
	const char *text;
} error_texts[] = {
	{ EPERM, "Operation not permitted" },
	{ ENOENT, "No such file or directory" },
	{ EINTR, "Interrupted system call" },
	{ EBADF, "Bad file descriptor" },
	{ EAGAIN, "Resource temporarily unavailable" },
	{ ENOMEM, "Cannot allocate memory" },
	{ EACCES, "Permission denied" },
	{ EFAULT, "Bad address" },
	{ ENODEV, "No such device" },
	{ EINVAL, "Invalid argument" },
	{ ENFILE, "Too many open files in system" },
	{ EMFILE, "Too many open files" },
	{ ENOSYS, "Function not implemented" },
	{ EMSGSIZE, "Message too long" },
	{ EPROTONOSUPPORT, "Protocol not supported" },
	{ ESOCKTNOSUPPORT, "Socket type not supported" },
	{ EAFNOSUPPORT, "Address family not supported by protocol" },
	{ EADDRNOTAVAIL, "Cannot assign requested address" },
	{ ENETDOWN, "Network is down" },
	{ ENETUNREACH, "Network is unreachable" },
	{ ENOBUFS, "No buffer space available" },
	{ ECONNREFUSED, "Connection refused" },
	{ EHOSTDOWN, "Host is down" },
	{ EHOSTUNREACH, "No route to host" },
};

/* " errno=N msg=text": msg is last on its line, as the parser wants it. */
static void out_errno(int e)
{
	unsigned int i;

	out_key("errno");
	out_u((unsigned int)e);
	out_key("msg");
	for (i = 0; i < sizeof(error_texts) / sizeof(error_texts[0]); i++) {
		if (error_texts[i].e == e) {
			out_s(error_texts[i].text);
			return;
		}
	}
	out_s("Unknown error ");
	out_u((unsigned int)e);
}

/* ---- system calls nolibc 6.1 does not wrap (they return -errno) ---- */

static long probe_socket(int domain, int type, int protocol)
{
	return my_syscall3(__NR_socket, domain, type, protocol);
}

static long probe_sendmsg(int fd, const struct msg *m, int flags)
{
	return my_syscall3(__NR_sendmsg, fd, m, flags);
}

static long probe_recvmsg(int fd, struct msg *m, int flags)
{
	return my_syscall3(__NR_recvmsg, fd, m, flags);
}

static long probe_bind(int fd, const void *addr, int len)
{
	return my_syscall3(__NR_bind, fd, addr, len);
}

static int64_t now_us(void)
{
	struct timespec ts;

	my_syscall2(__NR_clock_gettime, CLOCK_MONOTONIC, &ts);
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

static void put16(unsigned char *p, unsigned int v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

/* An Ethernet header from the interface's MAC to `to`; returns what follows. */
static unsigned char *put_eth(const struct probe *pr, unsigned char *f,
			      const unsigned char *to, unsigned int type)
{
	memcpy(f, to, ETH_ALEN);
	memcpy(f + ETH_ALEN, pr->mac, ETH_ALEN);
	put16(f + 12, type);
	return f + ETH_HLEN;
}

/* An IPv4 header (20 + optlen bytes) from source to target; returns what follows. */
static unsigned char *put_ipv4(const struct probe *pr, unsigned char *p,
			       unsigned int tot_len, unsigned int id,
			       unsigned int frag, unsigned int proto,
			       const unsigned char *opt, unsigned int optlen)
{
	unsigned int hl = 20 + optlen;

	memset(p, 0, 20);
	p[0] = (unsigned char)(0x40 | hl / 4);
	put16(p + 2, tot_len);
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = (unsigned char)proto;
	memcpy(p + 12, &pr->source, 4);
	memcpy(p + 16, &pr->target, 4);
	memcpy(p + 20, opt, optlen);
	put16(p + 10, inet_csum(p, hl));
	return p + hl;
}

/*
 * The checksum of a UDP or ICMPv6 message of len bytes at msg (at most 64),
 * with the pseudo-header of its addresses (alen bytes each: 4 or 16).
 */
static uint16_t pseudo_csum(const unsigned char *src, const unsigned char *dst,
			    unsigned int alen, unsigned int proto,
			    const unsigned char *msg, unsigned int len)
{
	unsigned char b[2 * 16 + 4 + 64];
	unsigned int n = 2 * alen;

	memcpy(b, src, alen);
	memcpy(b + alen, dst, alen);
	b[n] = 0;
	b[n + 1] = (unsigned char)proto;
	put16(b + n + 2, len);
	memcpy(b + n + 4, msg, len);
	return inet_csum(b, n + 4 + len);
}

/* Sends len bytes: to the target over the raw ICMP socket, or as a frame with -F. */
static long send_buf(const struct probe *pr, const unsigned char *p, size_t len)
{
	struct sockaddr_in to;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = len };
	struct msg m;

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = pr->target;
	memset(&m, 0, sizeof(m));
	if (!pr->iface) {
		m.name = &to;
		m.namelen = sizeof(to);
	}
	m.iov = &iov;
	m.iovlen = 1;
	return probe_sendmsg(pr->fd, &m, 0);
}

/* Writes echo request seq of id with size bytes of payload at p; returns its length. */
static size_t put_echo(unsigned char *p, uint16_t id, unsigned int seq,
		       unsigned int size)
{
	size_t len = ICMP_HDR + size;
	unsigned int i;

	memset(p, 0, ICMP_HDR);
	p[0] = 8; /* echo request */
	put16(p + 4, id);
	put16(p + 6, seq);
	for (i = 0; i < size; i++)
		p[ICMP_HDR + i] = pattern(id, seq, i);
	put16(p + 2, inet_csum(p, len));
	return len;
}

/* Room for the Ethernet and IPv4 headers (with the option) of -F in front. */
#define FRAME_HDR (ETH_HLEN + 20 + IP_OPT_LEN)

static void send_request(struct probe *pr, unsigned int seq)
{
	static unsigned char buf[FRAME_HDR + ICMP_HDR + MAX_SIZE];
	unsigned char *p = buf + FRAME_HDR;
	size_t len = put_echo(p, pr->id, seq, pr->size);
	long r;

	if (pr->iface) {
		p = buf;
		put_ipv4(pr, put_eth(pr, buf, pr->mac, ETH_P_IP),
			 (unsigned int)(20 + IP_OPT_LEN + len), kinds[KIND_ECHO].ip_id,
			 0, IPPROTO_ICMP, rr_option, IP_OPT_LEN);
		len += FRAME_HDR;
	}
	sent_us[seq] = now_us();
	r = send_buf(pr, p, len);
	if (r < 0) {
		state[seq] = S_SENDERR;
		pr->send_errors++;
		out_s("senderr seq=");
		out_u(seq);
		out_errno((int)-r);
		out_end(1);
		return;
	}
	state[seq] = S_PENDING;
	pr->sent++;
}

/* Sends frame f of kind k and reports it (with the error, if any). */
static void send_frame(struct probe *pr, unsigned int k, const unsigned char *f,
		       size_t len)
{
	long r = send_buf(pr, f, len);

	out_s("frame kind=");
	out_s(kinds[k].name);
	out_key("bytes");
	out_u64(len);
	if (r < 0)
		out_errno((int)-r);
	else
		pr->frames++;
	out_end(1);
}

/* -F: the frames the emulated peer must not answer, one of each kind. */
static void send_frames(struct probe *pr)
{
	static const unsigned char bcast[ETH_ALEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff
	};
	static const unsigned char nodes_mac[ETH_ALEN] = { 0x33, 0x33, 0, 0, 0, 1 };
	static const unsigned char nodes[16] = { 0xff, 2, [15] = 1 };
	const unsigned char *src = (const unsigned char *)&pr->source;
	const unsigned char *dst = (const unsigned char *)&pr->target;
	uint16_t other_id = (uint16_t)(pr->id ^ 0xffff);
	unsigned char f[128], ll[16], *p;

	/* ARP request: who has target? tell source */
	memset(f, 0, sizeof(f));
	p = put_eth(pr, f, bcast, ETH_P_ARP);
	put16(p, 1);
	put16(p + 2, ETH_P_IP);
	p[4] = ETH_ALEN;
	p[5] = 4;
	put16(p + 6, 1);
	memcpy(p + 8, pr->mac, ETH_ALEN);
	memcpy(p + 14, src, 4);
	memcpy(p + 24, dst, 4);
	send_frame(pr, 0, f, ETH_HLEN + 28);

	/* IPv6: an ICMPv6 echo request from the link-local address to all nodes */
	memset(f, 0, sizeof(f));
	memset(ll, 0, sizeof(ll));
	ll[0] = 0xfe;
	ll[1] = 0x80;
	ll[8] = pr->mac[0] ^ 2;
	memcpy(ll + 9, pr->mac + 1, 2);
	ll[11] = 0xff;
	ll[12] = 0xfe;
	memcpy(ll + 13, pr->mac + 3, 3);
	p = put_eth(pr, f, nodes_mac, ETH_P_IPV6);
	p[0] = 0x60;
	put16(p + 4, 16);
	p[6] = 58;
	p[7] = 255;
	memcpy(p + 8, ll, 16);
	memcpy(p + 24, nodes, 16);
	p[40] = 128;
	put16(p + 44, pr->id);
	put16(p + 46, 1);
	memset(p + 48, 0x5a, 8);
	put16(p + 42, pseudo_csum(ll, nodes, 16, 58, p + 40, 16));
	send_frame(pr, 1, f, ETH_HLEN + 40 + 16);

	/* UDP: 16 bytes from port 40000 to the discard port */
	memset(f, 0, sizeof(f));
	p = put_ipv4(pr, put_eth(pr, f, pr->mac, ETH_P_IP), 20 + 24,
		     kinds[2].ip_id, 0, IPPROTO_UDP, rr_option, 0);
	put16(p, 40000);
	put16(p + 2, 9);
	put16(p + 4, 24);
	memset(p + 8, 0x5a, 16);
	put16(p + 6, pseudo_csum(src, dst, 4, IPPROTO_UDP, p, 24));
	send_frame(pr, 2, f, ETH_HLEN + 20 + 24);

	/* Shorter than an IPv4 header: the first 16 bytes of an echo request's */
	memset(f, 0, sizeof(f));
	put_ipv4(pr, put_eth(pr, f, pr->mac, ETH_P_IP), 84, kinds[3].ip_id, 0,
		 IPPROTO_ICMP, rr_option, 0);
	send_frame(pr, 3, f, ETH_HLEN + 16);

	/* An echo request cut after its ICMP header; its IPv4 header says 1500 bytes */
	memset(f, 0, sizeof(f));
	p = put_ipv4(pr, put_eth(pr, f, pr->mac, ETH_P_IP), 1500, kinds[4].ip_id,
		     0, IPPROTO_ICMP, rr_option, 0);
	put_echo(p, other_id, 0, 0);
	send_frame(pr, 4, f, ETH_HLEN + 20 + ICMP_HDR);

	/* The first fragment (MF, offset 0) of a 56-byte echo request: 32 bytes */
	memset(f, 0, sizeof(f));
	p = put_ipv4(pr, put_eth(pr, f, pr->mac, ETH_P_IP), 20 + 32,
		     kinds[5].ip_id, 0x2000, IPPROTO_ICMP, rr_option, 0);
	put_echo(p, other_id, 0, 48);
	send_frame(pr, 5, f, ETH_HLEN + 20 + 32);
}

static void add_reason(char *reasons, size_t size, const char *r)
{
	size_t n = strlen(reasons);

	if (n && n + 1 < size)
		reasons[n++] = ',';
	while (*r && n + 1 < size)
		reasons[n++] = *r++;
	reasons[n] = '\0';
}

/* Reports an ICMP error (unreachable, time exceeded...) quoting our request; 0 if not ours. */
static int handle_icmp_error(struct probe *pr, uint32_t src,
			     const unsigned char *icmp, size_t icmp_len)
{
	const unsigned char *inner = icmp + ICMP_HDR;
	size_t inner_ihl;

	if (icmp_len < ICMP_HDR + 20 || (inner[0] >> 4) != 4 || inner[9] != IPPROTO_ICMP)
		return 0;
	inner_ihl = (size_t)(inner[0] & 0x0f) * 4;
	if (icmp_len < ICMP_HDR + inner_ihl + ICMP_HDR ||
	    get16(inner + inner_ihl + 4) != pr->id)
		return 0;
	pr->errors++;
	out_s("icmperr seq=");
	out_u(get16(inner + inner_ihl + 6));
	out_key("type");
	out_u(icmp[0]);
	out_key("code");
	out_u(icmp[1]);
	out_key("from");
	out_ip(src);
	out_end(1);
	return 1;
}

/* Reports an ICMP packet taken as a reply to us (or an error quoting us); 0 if not ours. */
static int handle_packet(struct probe *pr, const unsigned char *pkt, size_t n, int64_t t)
{
	char reasons[128] = "";
	uint32_t src, dst;
	const unsigned char *icmp;
	size_t ihl, tot, icmp_len;
	unsigned int type, code, id, seq;
	int from_target, ip_ok, icmp_ok, pay_ok, ours, known;

	if (n < 20 || (pkt[0] >> 4) != 4)
		return 0;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	tot = get16(pkt + 2);
	if (ihl < 20 || n < ihl + ICMP_HDR)
		return 0;
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
	from_target = src == pr->target;

	if (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
		return handle_icmp_error(pr, src, icmp, icmp_len);
	/* Our own request, looped back on its way to the target (loopback). */
	if (!pr->iface && type == 8 && dst == pr->target && id == pr->id)
		return 1;

	ours = id == pr->id;
	if (!ours && from_target && seq >= 1 && seq <= pr->count && pr->size >= 8 &&
	    payload_matches(pr, pr->id, seq, icmp + ICMP_HDR, icmp_len - ICMP_HDR))
		ours = 1; /* our payload, damaged identifier */
	if (!ours)
		return 0;

	pr->received++;
	ip_ok = inet_csum(pkt, ihl) == 0;
	icmp_ok = inet_csum(icmp, icmp_len) == 0;
	pay_ok = payload_matches(pr, pr->id, seq, icmp + ICMP_HDR, icmp_len - ICMP_HDR);
	/* seq names a request we sent (its state says what became of it). */
	known = seq >= 1 && seq <= pr->count && state[seq] != S_UNSENT && state[seq] != S_SENDERR;
	if (type != 0)
		add_reason(reasons, sizeof(reasons), "type");
	if (code != 0)
		add_reason(reasons, sizeof(reasons), "code");
	if (id != pr->id)
		add_reason(reasons, sizeof(reasons), "id");
	if (!known)
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
	/* -F: the reply keeps the request's options */
	if (pr->iface && (ihl != 20 + IP_OPT_LEN ||
			  memcmp(pkt + 20, rr_option, IP_OPT_LEN)))
		add_reason(reasons, sizeof(reasons), "options");
	if (seq >= 1 && seq <= pr->count) {
		if (state[seq] == S_ANSWERED)
			add_reason(reasons, sizeof(reasons), "dup");
		else if (state[seq] == S_TIMEOUT)
			add_reason(reasons, sizeof(reasons), "late");
	}

	out_s("reply seq=");
	out_u(seq);
	out_key("id");
	out_hex16(id);
	out_key("from");
	out_ip(src);
	out_key("type");
	out_u(type);
	out_key("code");
	out_u(code);
	out_key("bytes");
	out_u64(icmp_len);
	out_key("ttl");
	out_u(pkt[8]);
	if (known) {
		out_key("rtt_us");
		out_i64(t - sent_us[seq]);
	}
	out_key("icmp_csum");
	out_s(icmp_ok ? "ok" : "bad");
	out_key("ip_csum");
	out_s(ip_ok ? "ok" : "bad");
	out_key("payload");
	out_s(pay_ok ? "ok" : "bad");
	if (reasons[0]) {
		out_s(" verdict=bad reasons=");
		out_s(reasons);
		out_end(1);
		pr->bad++;
		/* A damaged reply still answers its request: no timeout later. */
		if (seq >= 1 && seq <= pr->count && state[seq] == S_PENDING)
			state[seq] = S_ANSWERED;
		return 1;
	}
	out_s(" verdict=ok");
	out_end(1);
	state[seq] = S_ANSWERED;
	pr->valid++;
	{
		int64_t rtt = t - sent_us[seq];

		if (pr->valid == 1 || rtt < pr->rtt_min)
			pr->rtt_min = rtt;
		if (pr->valid == 1 || rtt > pr->rtt_max)
			pr->rtt_max = rtt;
		pr->rtt_sum += rtt;
	}
	return 1;
}

/* -F: a frame the interface received, or sent (not by us) */
static void handle_frame(struct probe *pr, const unsigned char *f, size_t n,
			 unsigned int pkttype, int64_t t)
{
	unsigned int type = n >= ETH_HLEN ? get16(f + 12) : 0, k;
	const char *kind = "other";

	if (pkttype == PACKET_OUTGOING) {
		pr->outgoing++;
		return;
	}
	if (type == ETH_P_IP && n >= ETH_HLEN + 20 && f[ETH_HLEN + 9] == IPPROTO_ICMP &&
	    handle_packet(pr, f + ETH_HLEN, n - ETH_HLEN, t))
		return;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (type == kinds[k].ethertype &&
		    (!kinds[k].ip_id ||
		     (n >= ETH_HLEN + 6 && get16(f + ETH_HLEN + 4) == kinds[k].ip_id))) {
			kind = kinds[k].name;
			break;
		}
	}
	pr->back++;
	out_s("back kind=");
	out_s(kind);
	out_key("bytes");
	out_u64(n);
	out_key("ethertype");
	out_hex16(type);
	/* What it is, for whoever must tell a driver's reflection from other traffic */
	out_key("pkttype");
	out_u(pkttype);
	if (type == ETH_P_IP && n >= ETH_HLEN + 20) {
		const unsigned char *ip = f + ETH_HLEN;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		uint32_t a;

		out_key("ip_id");
		out_hex16(get16(ip + 4));
		out_key("proto");
		out_u(ip[9]);
		memcpy(&a, ip + 12, 4);
		out_key("src");
		out_ip(a);
		memcpy(&a, ip + 16, 4);
		out_key("dst");
		out_ip(a);
		if (ip[9] == IPPROTO_ICMP && ihl >= 20 &&
		    n >= ETH_HLEN + ihl + ICMP_HDR) {
			out_key("icmp_type");
			out_u(ip[ihl]);
			out_key("icmp_code");
			out_u(ip[ihl + 1]);
			out_key("icmp_id");
			out_hex16(get16(ip + ihl + 4));
		}
	}
	out_end(1);
}

/* An error record: the probe cannot go on (stage: usage, socket, recv, poll). */
static void out_error(const char *stage, int e)
{
	out_s("error stage=");
	out_s(stage);
	out_errno(e);
	out_end(1);
}

/* Reads every packet waiting on the socket; returns -1 on a socket error. */
static int drain(struct probe *pr)
{
	static unsigned char buf[65536];

	for (;;) {
		struct sockaddr_ll from;
		struct iovec iov;
		struct msg m;
		long n;

		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		memset(&m, 0, sizeof(m));
		memset(&from, 0, sizeof(from));
		m.name = &from;
		m.namelen = sizeof(from);
		m.iov = &iov;
		m.iovlen = 1;
		n = probe_recvmsg(pr->fd, &m, MSG_DONTWAIT);
		if (n < 0) {
			if (n == -EAGAIN || n == -EWOULDBLOCK)
				return 0;
			if (n == -EINTR)
				continue;
			out_error("recv", (int)-n);
			return -1;
		}
		if (pr->iface && from.sll_ifindex != pr->ifindex)
			pr->ignored++; /* not the interface's (bind() sees to that) */
		else if (pr->iface)
			handle_frame(pr, buf, (size_t)n, from.sll_pkttype, now_us());
		else if (!handle_packet(pr, buf, (size_t)n, now_us()))
			pr->ignored++;
	}
}

/* Marks requests whose reply is overdue; returns the earliest open deadline. */
static int64_t expire(struct probe *pr, int64_t now)
{
	int64_t next = -1;
	unsigned int s;

	for (s = 1; s <= pr->count; s++) {
		int64_t deadline;

		if (state[s] != S_PENDING)
			continue;
		deadline = sent_us[s] + (int64_t)pr->timeout_ms * 1000;
		if (now >= deadline) {
			state[s] = S_TIMEOUT;
			pr->timeouts++;
			out_s("timeout seq=");
			out_u(s);
			out_end(1);
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
	int ms, r;

	if (left < 0)
		left = 0;
	ms = (int)((left + 999) / 1000);
	r = sys_poll(&pfd, 1, ms);
	if (r < 0 && r != -EINTR) {
		out_error("poll", -r);
		return -1;
	}
	return 0;
}

static int run(struct probe *pr)
{
	int64_t next_send, linger_until = -1;
	unsigned int seq = 0;

	if (pr->iface)
		send_frames(pr);
	next_send = now_us();

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

static __attribute__((noreturn)) void usage(const char *msg)
{
	out_s("error stage=usage errno=0 msg=");
	out_s(msg);
	out_end(1);
	out_s("vnet_probe: ");
	out_s(msg);
	out_s("\nusage: vnet_probe [-c count] [-s size] [-i interval_ms] [-t timeout_ms]\n"
	      "                  [-l linger_ms] [-I id] [-F iface] target_ipv4");
	out_end(2);
	exit(2);
}

/*
 * Reads an unsigned number as strtoul(s, &end, 0) does (0x.. hex, 0.. octal,
 * else decimal); returns 0 unless s is empty, has anything after the number
 * or exceeds max.
 */
static int parse_number(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0, base = 10;
	const char *p = s;
	int digits = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0') {
		base = 8;
	}
	for (; *p; p++, digits++) {
		unsigned long d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned long)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned long)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned long)(*p - 'A' + 10);
		else
			return 0;
		if (d >= base || d > max || v > (max - d) / base)
			return 0;
		v = v * base + d;
	}
	if (digits == 0)
		return 0;
	*out = v;
	return 1;
}

static unsigned int number(const char *arg, unsigned int max, const char *what)
{
	unsigned long v;

	if (!parse_number(arg, max, &v)) {
		static char msg[96];

		line_len = 0;
		out_s("bad ");
		out_s(what);
		out_s(" '");
		out_sn(arg, 40);
		out_s("' (0..");
		out_u(max);
		out_s(")");
		line[line_len] = '\0';
		memcpy(msg, line, line_len + 1 < sizeof(msg) ? line_len + 1 : sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
		line_len = 0;
		usage(msg);
	}
	return (unsigned int)v;
}

/*
 * An IPv4 address as inet_aton(3) reads it: a.b.c.d, a.b.c (c 16 bits),
 * a.b (b 24 bits) or a (32 bits), each part decimal, 0x hex or 0 octal.
 * Returns 0 when s is not one.
 */
static int parse_ipv4(const char *s, uint32_t *out)
{
	static const unsigned long last_max[] = { 0xffffffffUL, 0xffffffUL, 0xffffUL, 0xffUL };
	unsigned long part[4];
	unsigned char *b = (unsigned char *)out;
	char buf[16];
	int n = 0, i;
	uint32_t host;

	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);

		if (n == 4 || len == 0 || len >= sizeof(buf))
			return 0;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (!parse_number(buf, 0xffffffffUL, &part[n]))
			return 0;
		n++;
		if (!dot)
			break;
		s = dot + 1;
	}
	for (i = 0; i < n - 1; i++)
		if (part[i] > 0xff)
			return 0;
	if (part[n - 1] > last_max[n - 1])
		return 0;
	host = (uint32_t)part[n - 1];
	for (i = 0; i < n - 1; i++)
		host |= (uint32_t)part[i] << (24 - 8 * i);
	b[0] = (unsigned char)(host >> 24);
	b[1] = (unsigned char)(host >> 16);
	b[2] = (unsigned char)(host >> 8);
	b[3] = (unsigned char)host;
	return 1;
}

/*
 * -F: opens a packet socket bound to pr->iface and reads the interface's
 * index, MAC and IPv4 address. Returns 0, or -errno with *stage saying where.
 */
static long open_iface(struct probe *pr, const char **stage)
{
	struct ifreq_buf ifr;
	struct sockaddr_ll sll;
	uint16_t all;
	long r;

	put16((unsigned char *)&all, ETH_P_ALL); /* network byte order */
	*stage = "socket";
	/*
	 * Protocol 0: the socket receives nothing until bind() names the
	 * protocol and the interface. Opened with ETH_P_ALL, it would queue the
	 * frames of every interface until bind() (the board's SSH traffic on
	 * eth0, read as frames that came back on vnet0).
	 */
	r = probe_socket(AF_PACKET, SOCK_RAW, 0);
	if (r < 0)
		return r;
	pr->fd = (int)r;
	*stage = "iface";
	if (strlen(pr->iface) >= sizeof(ifr.name))
		return -ENODEV;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.name, pr->iface, strlen(pr->iface));
	r = sys_ioctl(pr->fd, SIOCGIFINDEX, &ifr);
	if (r < 0)
		return r;
	pr->ifindex = ifr.u.ifindex;
	r = sys_ioctl(pr->fd, SIOCGIFHWADDR, &ifr);
	if (r < 0)
		return r;
	memcpy(pr->mac, ifr.u.addr.data, ETH_ALEN);
	r = sys_ioctl(pr->fd, SIOCGIFADDR, &ifr);
	if (r < 0)
		return r;
	memcpy(&pr->source, ifr.u.addr.data + 2, 4);
	*stage = "bind";
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = all;
	sll.sll_ifindex = pr->ifindex;
	return probe_bind(pr->fd, &sll, sizeof(sll));
}

int main(int argc, char **argv)
{
	struct probe pr;
	const char *target = 0, *stage;
	int i, targets = 0, options_done = 0;
	long fd;
	int rc;

	memset(&pr, 0, sizeof(pr));
	pr.count = 3;
	pr.size = 56;
	pr.interval_ms = 100;
	pr.timeout_ms = 1000;
	pr.linger_ms = 50;
	pr.id = (uint16_t)getpid();

	/* Options as getopt(3) "c:s:i:t:W:l:I:F:" reads them, values attached or apart. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *value;

		if (options_done || a[0] != '-' || a[1] == '\0') {
			target = targets++ ? target : a;
			continue;
		}
		if (a[1] == '-' && a[2] == '\0') {
			options_done = 1;
			continue;
		}
		if (!strchr("cstiWlIF", a[1]))
			usage("unknown option");
		value = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : 0);
		if (!value)
			usage("option without its value");
		switch (a[1]) {
		case 'c':
			pr.count = number(value, MAX_COUNT, "count");
			if (pr.count == 0)
				usage("count must be at least 1");
			break;
		case 's':
			pr.size = number(value, MAX_SIZE, "size");
			break;
		case 'i':
			pr.interval_ms = number(value, 3600000, "interval_ms");
			break;
		case 't':
		case 'W':
			pr.timeout_ms = number(value, 3600000, "timeout_ms");
			break;
		case 'l':
			pr.linger_ms = number(value, 3600000, "linger_ms");
			break;
		case 'I':
			pr.id = (uint16_t)number(value, 0xffff, "id");
			break;
		case 'F':
			pr.iface = value;
			break;
		}
	}
	if (targets != 1)
		usage("exactly one target address expected");
	if (!parse_ipv4(target, &pr.target))
		usage("target is not an IPv4 address");

	if (pr.iface) {
		fd = open_iface(&pr, &stage);
		if (fd < 0) {
			out_error(stage, (int)-fd);
			return 2;
		}
	} else {
		fd = probe_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd < 0) {
			out_error("socket", (int)-fd);
			return 2;
		}
		pr.fd = (int)fd;
	}

	out_s("probe version=");
	out_u(PROBE_FORMAT_VERSION);
	out_key("target");
	out_ip(pr.target);
	out_key("id");
	out_hex16(pr.id);
	out_key("count");
	out_u(pr.count);
	out_key("size");
	out_u(pr.size);
	out_key("interval_ms");
	out_u(pr.interval_ms);
	out_key("timeout_ms");
	out_u(pr.timeout_ms);
	if (pr.iface) {
		out_key("iface");
		out_sn(pr.iface, 40);
		out_key("source");
		out_ip(pr.source);
		out_key("ip_options");
		out_u(IP_OPT_LEN);
	}
	out_end(1);
	rc = run(&pr);
	out_s("summary sent=");
	out_u(pr.sent);
	out_key("received");
	out_u(pr.received);
	out_key("valid");
	out_u(pr.valid);
	out_key("bad");
	out_u(pr.bad);
	out_key("timeouts");
	out_u(pr.timeouts);
	out_key("errors");
	out_u(pr.errors);
	out_key("send_errors");
	out_u(pr.send_errors);
	out_key("ignored");
	out_u(pr.ignored);
	if (pr.iface) {
		out_key("frames");
		out_u(pr.frames);
		out_key("back");
		out_u(pr.back);
		out_key("outgoing");
		out_u(pr.outgoing);
	}
	if (pr.valid > 0) {
		out_key("rtt_min_us");
		out_i64(pr.rtt_min);
		out_key("rtt_avg_us");
		out_i64(pr.rtt_sum / pr.valid);
		out_key("rtt_max_us");
		out_i64(pr.rtt_max);
	}
	out_end(1);
	close(pr.fd);
	if (rc < 0)
		return 2;
	return pr.valid == pr.count && pr.bad == 0 && pr.back == 0 ? 0 : 1;
}
