/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences the virt_net stages meet, from the i.MX257 BSP
 * (2.6.31) to current 6.x kernels.
 *
 * Every helper here has a virt_net_ name of its own: several of the
 * kernel's newer helpers were backported to stable series older than the
 * release that introduced them, so defining the kernel's own names for
 * "old" kernels could collide with a backport.
 *
 * <asm/system.h> is deliberately not included anywhere: it was split up
 * and removed in 3.4, and nothing these drivers use still needs it.
 */
#ifndef VIRT_NET_COMPAT_H
#define VIRT_NET_COMPAT_H

#include <linux/version.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>

/*
 * Whether the kernel built against is release a.b.c or later: the kernel's
 * own convention (<linux/version.h>), so these files build in any tree and
 * with any Kbuild. checkpatch warns once here ("LINUX_VERSION_CODE should
 * be avoided"): in-tree code never needs a version gate, a driver built
 * for 2.6.31 to 6.x does. That one warning is accepted by name in the
 * style gate, as the kernel's backports project does; it is the only use.
 */
#define VIRT_NET_KERNEL_AT_LEAST(a, b, c) \
	(KERNEL_VERSION(a, b, c) <= LINUX_VERSION_CODE)

/* netdev_tx_t (the transmit hook's return type) appeared in 2.6.32. */
#if !VIRT_NET_KERNEL_AT_LEAST(2, 6, 32)
#define netdev_tx_t int
#endif

/*
 * alloc_netdev() gained the name-assign-type argument in 3.17; the
 * "vnet%d" name is enumerated by the kernel, hence NET_NAME_ENUM.
 */
#if VIRT_NET_KERNEL_AT_LEAST(3, 17, 0)
#define virt_net_alloc_netdev(name, setup) \
	alloc_netdev(0, name, NET_NAME_ENUM, setup)
#else
#define virt_net_alloc_netdev(name, setup) \
	alloc_netdev(0, name, setup)
#endif

/*
 * "The device checksums everything it sends": NETIF_F_NO_CSUM was removed
 * in 3.2, NETIF_F_HW_CSUM says the same to the stack since then.
 */
#if VIRT_NET_KERNEL_AT_LEAST(3, 2, 0)
#define VIRT_NET_F_CSUM NETIF_F_HW_CSUM
#else
#define VIRT_NET_F_CSUM NETIF_F_NO_CSUM
#endif

/*
 * dev->dev_addr became const in 5.17; eth_hw_addr_set() (5.15) is the
 * way to write it. Older kernels only have the plain copy.
 */
static inline void virt_net_set_mac(struct net_device *dev, const u8 *addr)
{
#if VIRT_NET_KERNEL_AT_LEAST(5, 15, 0)
	eth_hw_addr_set(dev, addr);
#else
	memcpy(dev->dev_addr, addr, ETH_ALEN);
#endif
}

/*
 * Hands a received frame to the stack from any context. Since 5.18
 * netif_rx() works everywhere and netif_rx_ni() is gone; before that,
 * netif_rx() was for interrupt/softirq context (the transmit path runs
 * with bottom halves off, so the emulated receive takes this branch) and
 * netif_rx_ni() for process context.
 */
static inline int virt_net_rx(struct sk_buff *skb)
{
#if VIRT_NET_KERNEL_AT_LEAST(5, 18, 0)
	return netif_rx(skb);
#else
	if (in_interrupt())
		return netif_rx(skb);
	return netif_rx_ni(skb);
#endif
}

/*
 * Frees a frame the device has sent (a "consumed" skb, invisible to drop
 * monitors). dev_consume_skb_any() exists since 3.14; before, the only
 * any-context free was dev_kfree_skb_any().
 */
static inline void virt_net_consume_skb(struct sk_buff *skb)
{
#if VIRT_NET_KERNEL_AT_LEAST(3, 14, 0)
	dev_consume_skb_any(skb);
#else
	dev_kfree_skb_any(skb);
#endif
}

#endif /* VIRT_NET_COMPAT_H */
