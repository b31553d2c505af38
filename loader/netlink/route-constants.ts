/**
 * rtnetlink numbers for addresses, routes and neighbours (linux/rtnetlink.h,
 * linux/if_addr.h, linux/neighbour.h, linux/if_link.h). The UAPI generator of
 * dsl/kernel reads only the headers the tc/XDP paths need, so these stable ABI
 * values are written here.
 */

/** Address families (`<sys/socket.h>`). */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Message types. */
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEIGH = 28;
export const RTM_GETNEIGH = 30;

/** `IFLA_*` link attributes beyond the generated ones. */
export const IFLA_ADDRESS = 1;
export const IFLA_LINKINFO = 18;
export const IFLA_INFO_KIND = 1;

/** `IFA_*` address attributes and `IFA_F_*` flags. */
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_FLAGS = 8;
export const IFA_F_SECONDARY = 0x01;
export const IFA_F_DEPRECATED = 0x20;
export const IFA_F_TENTATIVE = 0x40;

/** `RTA_*` route attributes, route types and scopes. */
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_VIA = 18;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_HOST = 254;

/** `NDA_*` neighbour attributes, `NTF_*` flags and `NUD_*` states. */
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const NTF_USE = 0x01;
export const NUD_INCOMPLETE = 0x01;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
