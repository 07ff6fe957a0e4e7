#include <linux/errno.h>
#include <linux/netdevice.h>
#include <linux/etherdevice.h>
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/fcntl.h>
#include <linux/interrupt.h>
#include <linux/ioport.h>
#include <linux/in.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/init.h>
#include <linux/bitops.h>
#include <linux/delay.h>

/* 6.1 port: <asm/system.h> removed (gone since 3.4; nothing here needs it) */
#include <asm/io.h>
#include <asm/irq.h>

static struct net_device *vnet_dev; //定义一个网络设备结构体

//转发发送数据包
static int virt_net_send_packet(struct sk_buff *skb, struct net_device *dev){
    static int cnt = 0;
    printk("vir_net_send_packet cnt = %d\n",++cnt);
    return 0;
}

static const struct net_device_ops virt_netdev_ops = {
    .ndo_start_xmit        = virt_net_send_packet,
};


static int virt_net_init(void){
    
    /* 1.分配一个net_device结构体 */
    /* 6.1 port: alloc_netdev() takes a name_assign_type since 3.17 */
    vnet_dev = alloc_netdev(0,"vnet%d",NET_NAME_UNKNOWN,ether_setup); //私有数据为0,
    /* 2.设置 */
    vnet_dev->netdev_ops = &virt_netdev_ops;
    /* 3.注册 */
    //register_netdevice(vnet_dev);    //会报锁的错误
    register_netdev(vnet_dev);   //rtnl_lock();
    return 0;
}

static void virt_net_exit(void){
    if(vnet_dev){
        unregister_netdev(vnet_dev);
        free_netdev(vnet_dev);
    }
}

module_init(virt_net_init);
module_exit(virt_net_exit);
MODULE_AUTHOR("Lover雪儿");
MODULE_LICENSE("GPL");


/*

/////////////////////////////////////////////////////////////////////
网卡驱动程序框架:
app:  socket
--------------------------------------------------------------------
        -----------------
        ----------------- 若干层网络协议--纯软件
        -----------------
hard_start_xmit() 用于发送数据包            ↑↑↑
    ↓↓↓              sk_buff                netif_rx()用于上报数据包
调用硬件相关的驱动程序(要提供har_start_xmit,有数据时用netif_rx上报)
--------------------------------------------------------------------
              硬件
//////////////////////////////////////////////////////////////////////
              
网卡驱动编写:
1.分配一个net_device结构体
2.设置
2.1 发包函数:hard_start_xmit
2.2 收到到数据时,(在中断处理函数中)用netif_rx上报数据
2.3 其他设置
3.注册 register_netdevice              
    

一、测试1th
insmod virt_net.ko
ifconfig vnet0 3.3.3.3
ping 3.3.3.3
ping 3.3.3.4  看效果 

*/
