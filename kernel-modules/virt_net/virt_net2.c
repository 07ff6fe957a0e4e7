// SPDX-License-Identifier: GPL-2.0
/*
 * virt_net2 - stage 2 of the virt_net tutorial: a transmit hook that logs
 * "virt_net_send_packet cnt = N" (N from 1) for every frame it is given.
 *
 * The tutorial's hook never freed the frame, leaking one skb per packet;
 * a transmit hook owns the skb it is handed and must free it exactly once.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

#include "virt_net_compat.h"

static struct net_device *vnet_dev;

/*
 * The core serialises calls of this hook for a single-queue device that
 * is not NETIF_F_LLTX, so the counter needs no lock.
 */
static netdev_tx_t virt_net_send_packet(struct sk_buff *skb,
					struct net_device *dev)
{
	static unsigned int cnt;

	/* The harness matches this line: keep its text. */
	pr_info("%s cnt = %u\n", __func__, ++cnt);

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
MODULE_DESCRIPTION("virt_net stage 2: log every transmitted frame");
MODULE_LICENSE("GPL");
