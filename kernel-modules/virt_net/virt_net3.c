// SPDX-License-Identifier: GPL-2.0
/*
 * virt_net3 - stage 3 of the virt_net tutorial: stage 2 plus transmit
 * statistics (tx_packets, tx_bytes) and the MAC address 08:89:89:89:89:11.
 *
 * The statistics are taken before the skb is freed: its length is not
 * ours to read afterwards.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

#include "virt_net_compat.h"

static struct net_device *vnet_dev;

static const u8 virt_net_mac[ETH_ALEN] = {
	0x08, 0x89, 0x89, 0x89, 0x89, 0x11
};

static netdev_tx_t virt_net_send_packet(struct sk_buff *skb,
					struct net_device *dev)
{
	static unsigned int cnt;

	/* The harness matches this line: keep its text. */
	pr_info("%s cnt = %u\n", __func__, ++cnt);

	dev->stats.tx_packets++;
	dev->stats.tx_bytes += skb->len;

	virt_net_consume_skb(skb);
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
MODULE_DESCRIPTION("virt_net stage 3: transmit statistics and a fixed MAC address");
MODULE_LICENSE("GPL");
