// SPDX-License-Identifier: GPL-2.0
/*
 * virt_net4 - stage 4 of the virt_net tutorial: a device whose "wire"
 * answers ICMP echo requests, so "ping 3.3.3.4" through vnet0 succeeds
 * (the idea of LDD3's snull).
 *
 * What the emulated peer does with a transmitted frame:
 *  - an IPv4 ICMP echo request (not a fragment) is answered: a new skb
 *    gets a copy of the frame with the MAC and IPv4 addresses swapped,
 *    the type set to echo reply and both checksums recomputed; the
 *    request counts in tx_packets/tx_bytes, the reply in
 *    rx_packets/rx_bytes (rx_dropped if it cannot be delivered);
 *  - any other frame (IPv6, UDP, ...) has nobody to go to: it is
 *    freed unchanged and counted in tx_dropped only.
 *
 * The transmitted skb is never written to: it may be shared with a
 * packet socket (tcpdump) or a clone waiting for retransmission.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <net/checksum.h>
#include <net/ip.h>

#include "virt_net_compat.h"

static struct net_device *vnet_dev;

static const u8 virt_net_mac[ETH_ALEN] = {
	0x08, 0x89, 0x89, 0x89, 0x89, 0x11
};

/*
 * Returns the IPv4 total length of @skb when it is an ICMP echo request
 * the emulated peer can answer, 0 otherwise. Headers are read through
 * skb_header_pointer() because the frame need not be linear.
 */
static unsigned int virt_net_echo_request_len(const struct sk_buff *skb)
{
	const struct ethhdr *eth;
	const struct iphdr *iph;
	const struct icmphdr *icmph;
	struct ethhdr eth_buf;
	struct iphdr iph_buf;
	struct icmphdr icmph_buf;
	unsigned int ihl, tot_len;

	eth = skb_header_pointer(skb, 0, sizeof(eth_buf), &eth_buf);
	if (!eth || eth->h_proto != htons(ETH_P_IP))
		return 0;

	iph = skb_header_pointer(skb, ETH_HLEN, sizeof(iph_buf), &iph_buf);
	if (!iph || iph->version != 4 || iph->ihl < 5 ||
	    iph->protocol != IPPROTO_ICMP)
		return 0;

	/* The ICMP checksum covers the whole message: a fragment can't be answered. */
	if (iph->frag_off & htons(IP_MF | IP_OFFSET))
		return 0;

	ihl = iph->ihl * 4;
	tot_len = ntohs(iph->tot_len);
	if (tot_len < ihl + sizeof(struct icmphdr) ||
	    ETH_HLEN + tot_len > skb->len)
		return 0;

	icmph = skb_header_pointer(skb, ETH_HLEN + ihl, sizeof(icmph_buf),
				   &icmph_buf);
	if (!icmph || icmph->type != ICMP_ECHO || icmph->code != 0)
		return 0;

	return tot_len;
}

/*
 * Builds the echo reply to the request in @skb (IPv4 total length
 * @tot_len) in a new skb, or returns NULL when memory is short.
 */
static struct sk_buff *virt_net_echo_reply(const struct sk_buff *skb,
					   unsigned int tot_len,
					   struct net_device *dev)
{
	unsigned int len = skb->len;
	struct sk_buff *rx_skb;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct icmphdr *icmph;
	u8 mac[ETH_ALEN];
	__be32 addr;

	rx_skb = netdev_alloc_skb(dev, len + NET_IP_ALIGN);
	if (!rx_skb)
		return NULL;
	/* Align the IP header on a 4-byte boundary after the 14-byte MAC header. */
	skb_reserve(rx_skb, NET_IP_ALIGN);
	if (skb_copy_bits(skb, 0, skb_put(rx_skb, len), len)) {
		kfree_skb(rx_skb);
		return NULL;
	}

	eth = (struct ethhdr *)rx_skb->data;
	memcpy(mac, eth->h_dest, ETH_ALEN);
	memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	memcpy(eth->h_source, mac, ETH_ALEN);

	iph = (struct iphdr *)(rx_skb->data + ETH_HLEN);
	addr = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	iph->check = 0;
	iph->check = ip_fast_csum((u8 *)iph, iph->ihl);

	/* Identifier, sequence and payload stay as the request had them. */
	icmph = (struct icmphdr *)((u8 *)iph + iph->ihl * 4);
	icmph->type = ICMP_ECHOREPLY;
	icmph->checksum = 0;
	icmph->checksum = ip_compute_csum((u8 *)icmph, tot_len - iph->ihl * 4);

	/*
	 * ip_summed stays CHECKSUM_NONE: the stack verifies the reply as it
	 * would a frame from a real wire (the tutorial's CHECKSUM_UNNECESSARY
	 * hid its stale ICMP checksum).
	 */
	rx_skb->protocol = eth_type_trans(rx_skb, dev);
	return rx_skb;
}

static netdev_tx_t virt_net_send_packet(struct sk_buff *skb,
					struct net_device *dev)
{
	unsigned int len = skb->len;
	unsigned int tot_len;
	struct sk_buff *rx_skb;

	tot_len = virt_net_echo_request_len(skb);
	if (!tot_len) {
		dev->stats.tx_dropped++;
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}

	rx_skb = virt_net_echo_reply(skb, tot_len, dev);

	dev->stats.tx_packets++;
	dev->stats.tx_bytes += len;
	virt_net_consume_skb(skb);

	if (!rx_skb) {
		dev->stats.rx_dropped++;
		return NETDEV_TX_OK;
	}

	/* Counted as the frame length, like tx_bytes, so both grow alike. */
	if (virt_net_rx(rx_skb) == NET_RX_SUCCESS) {
		dev->stats.rx_packets++;
		dev->stats.rx_bytes += len;
	} else {
		dev->stats.rx_dropped++;
	}
	return NETDEV_TX_OK;
}

static const struct net_device_ops virt_netdev_ops = {
	.ndo_start_xmit		= virt_net_send_packet,
};

static int __init virt_net_init(void)
{
	int err;

	vnet_dev = virt_net_alloc_netdev("vnet%d", ether_setup);
	if (!vnet_dev)
		return -ENOMEM;

	vnet_dev->netdev_ops = &virt_netdev_ops;
	virt_net_set_mac(vnet_dev, virt_net_mac);

	/* The emulated peer answers no ARP: reach it without asking. */
	vnet_dev->flags |= IFF_NOARP;
	vnet_dev->features |= VIRT_NET_F_CSUM;

	err = register_netdev(vnet_dev);
	if (err) {
		free_netdev(vnet_dev);
		return err;
	}
	return 0;
}

static void __exit virt_net_exit(void)
{
	unregister_netdev(vnet_dev);
	free_netdev(vnet_dev);
}

module_init(virt_net_init);
module_exit(virt_net_exit);

MODULE_AUTHOR("vnet-harness developers");
MODULE_DESCRIPTION("virt_net stage 4: an emulated wire that answers ICMP echo requests");
MODULE_LICENSE("GPL");
