// SPDX-License-Identifier: GPL-2.0
/*
 * virt_net1 - stage 1 of the virt_net tutorial: register a network device
 * named vnet%d and nothing else.
 *
 * The tutorial leaves ndo_start_xmit NULL; the core calls it without a
 * check, so the first frame sent (the ARP request of "ping 3.3.3.4")
 * oopses the kernel. This stage drops every frame and counts it instead,
 * which is what a device with no wire does.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/skbuff.h>

#include "virt_net_compat.h"

static struct net_device *vnet_dev;

static netdev_tx_t virt_net_send_packet(struct sk_buff *skb,
					struct net_device *dev)
{
	dev->stats.tx_dropped++;
	dev_kfree_skb_any(skb);
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

	/* register_netdev() takes the rtnl lock; register_netdevice() does not. */
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
MODULE_DESCRIPTION("virt_net stage 1: register vnet%d, drop every frame");
MODULE_LICENSE("GPL");
