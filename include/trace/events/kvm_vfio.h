/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the KVM-VFIO device (virt/kvm/vfio.c), for VMM developers debugging the
 * order of their calls: every ADD, DEL and SET_SPAPR_TCE with the fd, the
 * kind of file it named and the result; every release with the number of
 * files it dropped; every change of the VM's non-coherent DMA registration.
 *
 *   echo 1 > /sys/kernel/tracing/events/kvm_vfio/enable
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvm_vfio

#if !defined(_TRACE_KVM_VFIO_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_KVM_VFIO_H

#include <linux/tracepoint.h>

/* What the fd of an attribute call named. */
#define KVM_VFIO_KIND_NONE	0	/* no file, not VFIO's, or not tracked */
#define KVM_VFIO_KIND_GROUP	1
#define KVM_VFIO_KIND_DEVICE	2

#define kvm_vfio_show_kind(kind)					\
	__print_symbolic(kind,						\
			 { KVM_VFIO_KIND_NONE, "none" },		\
			 { KVM_VFIO_KIND_GROUP, "group" },		\
			 { KVM_VFIO_KIND_DEVICE, "device" })

DECLARE_EVENT_CLASS(kvm_vfio_file_op,
		    TP_PROTO(struct kvm *kvm, int fd, int kind, int ret),
		    TP_ARGS(kvm, fd, kind, ret),
		    TP_STRUCT__entry(__field(const void *, kvm)
				     __field(int, fd)
				     __field(int, kind)
				     __field(int, ret)),
		    TP_fast_assign(__entry->kvm = kvm;
				   __entry->fd = fd;
				   __entry->kind = kind;
				   __entry->ret = ret;),
		    TP_printk("kvm %p fd %d kind %s ret %d", __entry->kvm,
			      __entry->fd, kvm_vfio_show_kind(__entry->kind),
			      __entry->ret)
);

/* KVM_DEV_VFIO_FILE_ADD (and the legacy GROUP_ADD). */
DEFINE_EVENT(kvm_vfio_file_op, kvm_vfio_file_add,
	     TP_PROTO(struct kvm *kvm, int fd, int kind, int ret),
	     TP_ARGS(kvm, fd, kind, ret)
);

/* KVM_DEV_VFIO_FILE_DEL (and the legacy GROUP_DEL). */
DEFINE_EVENT(kvm_vfio_file_op, kvm_vfio_file_del,
	     TP_PROTO(struct kvm *kvm, int fd, int kind, int ret),
	     TP_ARGS(kvm, fd, kind, ret)
);

/* KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE; @fd is the group fd. */
DEFINE_EVENT(kvm_vfio_file_op, kvm_vfio_set_spapr_tce,
	     TP_PROTO(struct kvm *kvm, int fd, int kind, int ret),
	     TP_ARGS(kvm, fd, kind, ret)
);

/* The device is released (its fd closed): @nr_files are dropped. */
TRACE_EVENT(kvm_vfio_release,
	    TP_PROTO(struct kvm *kvm, unsigned long nr_files),
	    TP_ARGS(kvm, nr_files),
	    TP_STRUCT__entry(__field(const void *, kvm)
			     __field(unsigned long, nr_files)),
	    TP_fast_assign(__entry->kvm = kvm;
			   __entry->nr_files = nr_files;),
	    TP_printk("kvm %p files %lu", __entry->kvm, __entry->nr_files)
);

/* The VM is registered (or unregistered) for non-coherent DMA. */
TRACE_EVENT(kvm_vfio_noncoherent,
	    TP_PROTO(struct kvm *kvm, bool noncoherent),
	    TP_ARGS(kvm, noncoherent),
	    TP_STRUCT__entry(__field(const void *, kvm)
			     __field(bool, noncoherent)),
	    TP_fast_assign(__entry->kvm = kvm;
			   __entry->noncoherent = noncoherent;),
	    TP_printk("kvm %p %s", __entry->kvm,
		      __entry->noncoherent ? "register" : "unregister")
);

#endif /* _TRACE_KVM_VFIO_H */

/* This part must be outside the include guard. */
#include <trace/define_trace.h>
