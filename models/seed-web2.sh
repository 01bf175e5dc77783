# web2's runbook from the seed article (../shared/seed/lan-container-access.md), pasted verbatim.
# The article's host already had this default route (its `route -n` shows it, metric 100):
$ ip route add default via 172.31.0.1 dev eth0 metric 100

$ docker run --name ngx1 --rm --network none -d nginx:1.18-alpine
$ ip link add veth1 type veth peer name veth1-p
$ mkdir /var/run/netns
$ docker inspect ngx1 |grep Pid # 查找出容器进程
$ ln -s /proc/869389/ns/net /var/run/netns/ngx1
$ ip link set veth1 netns ngx1
$ ip netns exec ngx1 ip link set name eth0 dev veth1
$ ip netns exec ngx1 ip addr add 192.168.2.10/24 dev eth0
$ ip netns exec ngx1 ip link set dev eth0 up
$ docker exec -it ngx1 ifconfig
# 因为这里没有使用网桥，直接veth1-p连接到宿主机的内核协议栈。所以配置ip即可
$ ip addr add 192.168.2.20/24 dev veth1-p
$ ip link set dev veth1-p up

# 查看结果
$ route -n

# 或智能转换（推荐使用）这里可以自动查找应该出去的ip。好处是如如果出去的ip经常发生变化，无需修改规则
$ iptables -t nat -A POSTROUTING -s 172.31.0.3 -j  MASQUERADE

# 开启FORWARD功能（默认是关闭的，这个要注意）
$ echo 1 > /proc/sys/net/ipv4/ip_forward
$ iptables -t filter -P FORWARD ACCEPT 
