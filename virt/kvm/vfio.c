// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM-VFIO bridge device (KVM_DEV_TYPE_VFIO, "kvm-vfio").
 *
 * A VMM adds the VFIO group and device files its VM uses.  The device keeps
 * its own reference to each file, hands the VM's kvm to VFIO so drivers see
 * it in open_device, and tells KVM whether the VM can observe DMA that the
 * IOMMU does not keep cache-coherent.
 *
 * Tracked files live in a red-black tree keyed by the struct file pointer,
 * so duplicate detection and DEL cost O(log n) however many files a VM has
 * (SR-IOV VFs and mdevs reach thousands).
 */

#include <linux/cleanup.h>
#include <linux/debugfs.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm_host.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string_choices.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <kunit/static_stub.h>

#include "vfio.h"
#include "vfio_compat.h"

#define CREATE_TRACE_POINTS
#include <trace/events/kvm_vfio.h>

#ifdef CONFIG_SPAPR_TCE_IOMMU
#include <asm/kvm_ppc.h>
#endif

/**
 * struct kvm_vfio_hooks - VFIO entry points used by the device
 * @is_valid:		vfio_file_is_valid()
 * @set_kvm:		vfio_file_set_kvm()
 * @enforced_coherent:	vfio_file_enforced_coherent()
 * @is_group:		vfio_file_is_group(), NULL without CONFIG_VFIO_GROUP
 * @iommu_group:	vfio_file_iommu_group() (sPAPR only)
 *
 * With VFIO as a module the device does not link against it: an operation
 * that begins with nothing tracked resolves the entry points with
 * symbol_get(), and one that ends with nothing tracked puts them, so they
 * are held only while files are tracked.  A tracked file pins vfio.ko
 * anyway.
 */
struct kvm_vfio_hooks {
	bool (*is_valid)(struct file *file);
	void (*set_kvm)(struct file *file, struct kvm *kvm);
	bool (*enforced_coherent)(struct file *file);
	bool (*is_group)(struct file *file);
#ifdef CONFIG_SPAPR_TCE_IOMMU
	struct iommu_group *(*iommu_group)(struct file *file);
#endif
};

/**
 * struct kvm_vfio_file - one VFIO file tracked by a kvm-vfio device
 * @node:	  entry in &kvm_vfio.files, ordered by @file
 * @group_node:	  entry in &kvm_vfio.groups (group files only)
 * @file:	  the device's own reference to the group or device file
 * @is_group:	  @file is a VFIO group file
 * @noncoherent:  VFIO's answer that the file's IOMMU does not enforce cache
 *		  coherency: for a device file the answer at ADD, for a group
 *		  the last one the device was given (at ADD, and by
 *		  kvm_vfio_update_coherency()), kept for the debugfs view
 * @iommu_group:  sPAPR only: reference taken by the first SET_SPAPR_TCE
 */
struct kvm_vfio_file {
	struct rb_node node;
	struct list_head group_node;
	struct file *file;
	bool is_group;
	bool noncoherent;
#ifdef CONFIG_SPAPR_TCE_IOMMU
	struct iommu_group *iommu_group;
#endif
};

/**
 * struct kvm_vfio - state of one kvm-vfio device
 * @lock:	protects all fields below and serialises this device's calls
 *		into VFIO for its files (vfio_file_set_kvm, coherency queries,
 *		sPAPR attach); a read of @debugfs takes it too, and calls
 *		nothing under it.  Order: @lock -> VFIO's locks.  Never taken
 *		under kvm->lock: release runs without it (see
 *		kvm_vfio_release()).
 * @files:	tracked files, an rbtree keyed by struct file pointer
 * @groups:	tracked group files; the last one found non-coherent first
 * @nr_files:	number of entries in @files
 * @nr_noncoherent_devs: device files in @files with @noncoherent set
 * @noncoherent: the VM is registered for non-coherent DMA
 * @hooks:	VFIO entry points; held while @nr_files is not zero, and by
 *		the operation in progress (CLASS(kvm_vfio_op))
 * @stale_from:	CONFIG_KVM_VFIO_DEBUG_COHERENCY: the file from which the next
 *		check goes on (see kvm_vfio_stale_coherency())
 * @debugfs:	the file "vfio" in the VM's debugfs directory, or an error
 *		pointer when there is none; created at init, removed first
 *		thing at release (see kvm_vfio_debugfs_show())
 */
struct kvm_vfio {
	struct mutex lock;	/* protects this struct, see above */
	struct rb_root files;
	struct list_head groups;
	unsigned long nr_files;
	unsigned long nr_noncoherent_devs;
	bool noncoherent;
	struct kvm_vfio_hooks hooks;
#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
	struct file *stale_from;
#endif
	struct dentry *debugfs;
};

static void kvm_vfio_hooks_put(struct kvm_vfio_hooks *h)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_hooks_put, h);

#if !IS_BUILTIN(CONFIG_VFIO)
	if (h->is_valid)
		symbol_put(vfio_file_is_valid);
	if (h->set_kvm)
		symbol_put(vfio_file_set_kvm);
	if (h->enforced_coherent)
		symbol_put(vfio_file_enforced_coherent);
#if IS_ENABLED(CONFIG_VFIO_GROUP)
	if (h->is_group)
		symbol_put(vfio_file_is_group);
#endif
#ifdef CONFIG_SPAPR_TCE_IOMMU
	if (h->iommu_group)
		symbol_put(vfio_file_iommu_group);
#endif
#endif /* !IS_BUILTIN(CONFIG_VFIO) */
	memset(h, 0, sizeof(*h));
}

/* Returns false, holding nothing, when VFIO is not loaded. */
static bool kvm_vfio_hooks_get(struct kvm_vfio_hooks *h)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_hooks_get, h);

	memset(h, 0, sizeof(*h));
#if IS_BUILTIN(CONFIG_VFIO)
	h->is_valid = vfio_file_is_valid;
	h->set_kvm = vfio_file_set_kvm;
	h->enforced_coherent = vfio_file_enforced_coherent;
#if IS_ENABLED(CONFIG_VFIO_GROUP)
	h->is_group = vfio_file_is_group;
#endif
#ifdef CONFIG_SPAPR_TCE_IOMMU
	h->iommu_group = vfio_file_iommu_group;
#endif
	return true;
#else
	h->is_valid = symbol_get(vfio_file_is_valid);
	h->set_kvm = symbol_get(vfio_file_set_kvm);
	h->enforced_coherent = symbol_get(vfio_file_enforced_coherent);
#if IS_ENABLED(CONFIG_VFIO_GROUP)
	h->is_group = symbol_get(vfio_file_is_group);
#endif
#ifdef CONFIG_SPAPR_TCE_IOMMU
	h->iommu_group = symbol_get(vfio_file_iommu_group);
	if (!h->iommu_group)
		goto fail;
#endif
	if (h->is_valid && h->set_kvm && h->enforced_coherent)
		return true;
#ifdef CONFIG_SPAPR_TCE_IOMMU
fail:
#endif
	kvm_vfio_hooks_put(h);
	return false;
#endif /* IS_BUILTIN(CONFIG_VFIO) */
}

/*
 * Start an operation under kv->lock (CLASS(kvm_vfio_op) calls it): kv->hooks
 * are resolved unless files already hold them.  Returns false when VFIO is
 * not loaded.
 */
static bool kvm_vfio_op_begin(struct kvm_vfio *kv)
{
	lockdep_assert_held(&kv->lock);

	return kv->nr_files || kvm_vfio_hooks_get(&kv->hooks);
}

/*
 * End an operation begun (@kv) or refused (NULL): kv->hooks stay resolved
 * only while files are tracked.
 */
static void kvm_vfio_op_end(struct kvm_vfio *kv)
{
	if (!kv)
		return;
	lockdep_assert_held(&kv->lock);

	if (!kv->nr_files)
		kvm_vfio_hooks_put(&kv->hooks);
}

/*
 * An operation on the device: after "CLASS(kvm_vfio_op, op)(kv)", @op is
 * @kv, with kv->hooks resolved until the end of the scope, or NULL when
 * VFIO is not loaded.  Declared after guard(mutex)(&kv->lock), so that it
 * ends before the unlock.
 */
DEFINE_CLASS(kvm_vfio_op, struct kvm_vfio *, kvm_vfio_op_end(_T),
	     kvm_vfio_op_begin(kv) ? kv : NULL, struct kvm_vfio *kv)

/*
 * Calls into KVM's architecture code, one function each so that the KUnit
 * suite can count them without a real VM.
 */
static void kvm_vfio_register_noncoherent(struct kvm *kvm)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_register_noncoherent, kvm);
	kvm_arch_register_noncoherent_dma(kvm);
}

static void kvm_vfio_unregister_noncoherent(struct kvm *kvm)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_unregister_noncoherent, kvm);
	kvm_arch_unregister_noncoherent_dma(kvm);
}

/*
 * One start per tracked file and one end when it goes, where the kernel
 * tracks assigned devices (see vfio_compat.h); nothing at all elsewhere.
 */
static void kvm_vfio_start_assignment(struct kvm *kvm)
{
	if (!KVM_VFIO_HAS_ASSIGNMENT_HOOKS)
		return;
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_start_assignment, kvm);
	kvm_vfio_compat_start_assignment(kvm);
}

static void kvm_vfio_end_assignment(struct kvm *kvm)
{
	if (!KVM_VFIO_HAS_ASSIGNMENT_HOOKS)
		return;
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_end_assignment, kvm);
	kvm_vfio_compat_end_assignment(kvm);
}

static void *kvm_vfio_zalloc(size_t size)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_zalloc, size);
	return kzalloc(size, GFP_KERNEL_ACCOUNT);
}

/*
 * One descent of the tree: the link holding @file's node if it is tracked,
 * else the empty link where it would be inserted below *@parent.
 */
static struct rb_node **kvm_vfio_link(struct kvm_vfio *kv, struct file *file,
				      struct rb_node **parent)
{
	struct rb_node **link = &kv->files.rb_node;

	lockdep_assert_held(&kv->lock);

	*parent = NULL;
	while (*link) {
		struct file *cur = rb_entry(*link, struct kvm_vfio_file,
					    node)->file;

		if (file == cur)
			break;
		*parent = *link;
		link = file < cur ? &(*link)->rb_left : &(*link)->rb_right;
	}
	return link;
}

static struct kvm_vfio_file *kvm_vfio_find(struct kvm_vfio *kv,
					   struct file *file)
{
	struct rb_node *parent;

	return rb_entry_safe(*kvm_vfio_link(kv, file, &parent),
			     struct kvm_vfio_file, node);
}

#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
#define KVM_VFIO_STALE_BATCH	4

/* The first tracked file at or after @key in the tree's order, or NULL. */
static struct rb_node *kvm_vfio_lower_bound(struct kvm_vfio *kv,
					    struct file *key)
{
	struct rb_node *n = kv->files.rb_node, *found = NULL;

	while (n) {
		if (rb_entry(n, struct kvm_vfio_file, node)->file >= key) {
			found = n;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return found;
}

/*
 * Ask VFIO again about up to KVM_VFIO_STALE_BATCH tracked device files,
 * going round the tree from where the last call stopped: each one is asked
 * again within nr_files / KVM_VFIO_STALE_BATCH operations, at a bounded
 * cost per operation.  Returns how many answers differ from the one
 * cached at ADD.
 */
static unsigned long kvm_vfio_stale_coherency(struct kvm_vfio *kv)
{
	unsigned long stale = 0, asked = 0, seen;
	struct rb_node *n;

	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_stale_coherency, kv);
	lockdep_assert_held(&kv->lock);

	n = kvm_vfio_lower_bound(kv, kv->stale_from);
	for (seen = 0; seen < kv->nr_files && asked < KVM_VFIO_STALE_BATCH;
	     seen++, n = rb_next(n)) {
		struct kvm_vfio_file *kvf;

		if (!n)
			n = rb_first(&kv->files);
		kvf = rb_entry(n, struct kvm_vfio_file, node);
		if (kvf->is_group)
			continue;
		asked++;
		if (kvf->noncoherent == kv->hooks.enforced_coherent(kvf->file))
			stale++;
	}
	kv->stale_from = n ? rb_entry(n, struct kvm_vfio_file, node)->file :
			     NULL;
	return stale;
}
#else
static unsigned long kvm_vfio_stale_coherency(struct kvm_vfio *kv)
{
	return 0;
}
#endif

/*
 * Tell KVM when the VM starts or stops seeing non-coherent DMA.  A device
 * file's answer is cached at ADD: VFIO reports its IOMMU's fixed capability
 * (CONFIG_KVM_VFIO_DEBUG_COHERENCY checks that it stays so).  A group's
 * answer follows the devices in it, so groups are asked again, as upstream
 * does, unless a device file already decides (each answer is kept, for the
 * debugfs view); the first non-coherent group moves to the front so the
 * next walk usually stops there.
 */
static void kvm_vfio_update_coherency(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_hooks *h = &kv->hooks;
	bool noncoherent = kv->nr_noncoherent_devs > 0;
	struct kvm_vfio_file *kvf;

	lockdep_assert_held(&kv->lock);

	WARN_ONCE(h->enforced_coherent && kvm_vfio_stale_coherency(kv),
		  "kvm-vfio: VFIO's coherency answer for a device file changed since ADD\n");

	if (!noncoherent && h->enforced_coherent) {
		list_for_each_entry(kvf, &kv->groups, group_node) {
			kvf->noncoherent = !h->enforced_coherent(kvf->file);
			if (kvf->noncoherent) {
				noncoherent = true;
				list_move(&kvf->group_node, &kv->groups);
				break;
			}
		}
	}

	if (noncoherent == kv->noncoherent)
		return;

	kv->noncoherent = noncoherent;
	trace_kvm_vfio_noncoherent(dev->kvm, noncoherent);
	if (noncoherent)
		kvm_vfio_register_noncoherent(dev->kvm);
	else
		kvm_vfio_unregister_noncoherent(dev->kvm);
}

#ifdef CONFIG_SPAPR_TCE_IOMMU
/* KVM's sPAPR TCE calls, one function each for the KUnit suite's stubs. */
static long kvm_vfio_tce_attach(struct kvm *kvm, int tablefd,
				struct iommu_group *grp)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_tce_attach, kvm, tablefd, grp);
	return kvm_spapr_tce_attach_iommu_group(kvm, tablefd, grp);
}

/* Detach @grp from the VM's TCE tables and drop our reference to it. */
static void kvm_vfio_tce_release(struct kvm *kvm, struct iommu_group *grp)
{
	KUNIT_STATIC_STUB_REDIRECT(kvm_vfio_tce_release, kvm, grp);
	kvm_spapr_tce_release_iommu_group(kvm, grp);
	iommu_group_put(grp);
}

/*
 * Drop what SET_SPAPR_TCE attached.  A group that never had a table has
 * nothing to drop: that is normal (ADD then DEL), so it must not warn.
 */
static void kvm_vfio_spapr_detach(struct kvm *kvm, struct kvm_vfio_file *kvf)
{
	if (!kvf->iommu_group)
		return;

	kvm_vfio_tce_release(kvm, kvf->iommu_group);
	kvf->iommu_group = NULL;
}
#else
static void kvm_vfio_spapr_detach(struct kvm *kvm, struct kvm_vfio_file *kvf)
{
}
#endif

/* Tell VFIO the file has no kvm, drop our reference and free @kvf. */
static void kvm_vfio_put_file(struct kvm_device *dev,
			      struct kvm_vfio_file *kvf)
{
	struct kvm_vfio *kv = dev->private;

	kvm_vfio_end_assignment(dev->kvm);
	kvm_vfio_spapr_detach(dev->kvm, kvf);
	kv->hooks.set_kvm(kvf->file, NULL);
	fput(kvf->file);
	kfree(kvf);
}

/* Remove @kvf from the tree, the group list and the counters, then put it. */
static void kvm_vfio_untrack(struct kvm_device *dev,
			     struct kvm_vfio_file *kvf)
{
	struct kvm_vfio *kv = dev->private;

	lockdep_assert_held(&kv->lock);

	rb_erase(&kvf->node, &kv->files);
	kv->nr_files--;
	if (kvf->is_group)
		list_del(&kvf->group_node);
	else if (kvf->noncoherent)
		kv->nr_noncoherent_devs--;
	kvm_vfio_put_file(dev, kvf);
}

/* @kind: set to the KVM_VFIO_KIND_* of @file, for the trace event */
static int kvm_vfio_add_file(struct kvm_device *dev, struct file *file,
			     int *kind)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_hooks *h = &kv->hooks;
	struct rb_node **link, *parent;
	struct kvm_vfio_file *kvf;

	guard(mutex)(&kv->lock);
	CLASS(kvm_vfio_op, op)(kv);

	/* Without VFIO loaded no file is a VFIO file: EINVAL, as for any. */
	if (!op || !h->is_valid(file))
		return -EINVAL;
	*kind = h->is_group && h->is_group(file) ? KVM_VFIO_KIND_GROUP :
						   KVM_VFIO_KIND_DEVICE;

	link = kvm_vfio_link(kv, file, &parent);
	if (*link)
		return -EEXIST;

	kvf = kvm_vfio_zalloc(sizeof(*kvf));
	if (!kvf)
		return -ENOMEM;

	kvf->file = get_file(file);
	kvf->is_group = *kind == KVM_VFIO_KIND_GROUP;
	kvf->noncoherent = !h->enforced_coherent(file);
	if (kvf->is_group)
		list_add_tail(&kvf->group_node, &kv->groups);
	else if (kvf->noncoherent)
		kv->nr_noncoherent_devs++;
	rb_link_node(&kvf->node, parent, link);
	rb_insert_color(&kvf->node, &kv->files);
	kv->nr_files++;

	kvm_vfio_start_assignment(dev->kvm);
	h->set_kvm(file, dev->kvm);
	kvm_vfio_update_coherency(dev);
	return 0;
}

/* @kind: set to the KVM_VFIO_KIND_* of @file if it was tracked */
static int kvm_vfio_del_file(struct kvm_device *dev, struct file *file,
			     int *kind)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf;
	int ret = -ENOENT;

	guard(mutex)(&kv->lock);
	CLASS(kvm_vfio_op, op)(kv);

	/* Files pin vfio.ko, so without it nothing can be tracked. */
	if (!op)
		return -ENOENT;

	kvf = kvm_vfio_find(kv, file);
	if (kvf) {
		*kind = kvf->is_group ? KVM_VFIO_KIND_GROUP :
					KVM_VFIO_KIND_DEVICE;
		kvm_vfio_untrack(dev, kvf);
		ret = 0;
	}
	/* Even on ENOENT, as upstream: a group's answer may have changed. */
	kvm_vfio_update_coherency(dev);
	return ret;
}

static int kvm_vfio_add_fd(struct kvm_device *dev, int fd)
{
	int kind = KVM_VFIO_KIND_NONE;
	int ret = -EBADF;

	CLASS(fd, f)(fd);
	if (!fd_empty(f))
		ret = kvm_vfio_add_file(dev, fd_file(f), &kind);
	trace_kvm_vfio_file_add(dev->kvm, fd, kind, ret);
	return ret;
}

static int kvm_vfio_del_fd(struct kvm_device *dev, int fd)
{
	int kind = KVM_VFIO_KIND_NONE;
	int ret = -EBADF;

	CLASS(fd, f)(fd);
	if (!fd_empty(f))
		ret = kvm_vfio_del_file(dev, fd_file(f), &kind);
	trace_kvm_vfio_file_del(dev->kvm, fd, kind, ret);
	return ret;
}

#ifdef CONFIG_SPAPR_TCE_IOMMU
static int kvm_vfio_spapr_attach(struct kvm_device *dev, struct file *file,
				 int tablefd)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf;

	guard(mutex)(&kv->lock);
	CLASS(kvm_vfio_op, op)(kv);

	/* Files pin vfio.ko, so without it nothing can be tracked. */
	if (!op)
		return -ENOENT;

	kvf = kvm_vfio_find(kv, file);
	if (!kvf)
		return -ENOENT;

	/* Taken once; dropped by DEL or release. */
	if (!kvf->iommu_group) {
		kvf->iommu_group = kv->hooks.iommu_group(file);
		/* A device fd, or a group whose devices all went. */
		if (!kvf->iommu_group)
			return -EIO;
	}

	return kvm_vfio_tce_attach(dev->kvm, tablefd, kvf->iommu_group);
}

static int kvm_vfio_set_spapr_tce(struct kvm_device *dev, void __user *arg)
{
	struct kvm_vfio_spapr_tce param;
	int ret = -EBADF;

	if (copy_from_user(&param, arg, sizeof(param)))
		return -EFAULT;

	CLASS(fd, f)(param.groupfd);
	if (!fd_empty(f))
		ret = kvm_vfio_spapr_attach(dev, fd_file(f), param.tablefd);
	trace_kvm_vfio_set_spapr_tce(dev->kvm, param.groupfd,
				     ret ? KVM_VFIO_KIND_NONE :
					   KVM_VFIO_KIND_GROUP, ret);
	return ret;
}
#endif

static int kvm_vfio_set_file_attr(struct kvm_device *dev, u64 attr,
				  void __user *arg)
{
	s32 __user *fdp = arg;
	s32 fd;

	switch (attr) {
	case KVM_DEV_VFIO_FILE_ADD:
		if (get_user(fd, fdp))
			return -EFAULT;
		return kvm_vfio_add_fd(dev, fd);
	case KVM_DEV_VFIO_FILE_DEL:
		if (get_user(fd, fdp))
			return -EFAULT;
		return kvm_vfio_del_fd(dev, fd);
#ifdef CONFIG_SPAPR_TCE_IOMMU
	case KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE:
		return kvm_vfio_set_spapr_tce(dev, arg);
#endif
	default:
		return -ENXIO;
	}
}

static int kvm_vfio_set_attr(struct kvm_device *dev,
			     struct kvm_device_attr *attr)
{
	if (attr->group != KVM_DEV_VFIO_FILE)
		return -ENXIO;

	return kvm_vfio_set_file_attr(dev, attr->attr,
				      u64_to_user_ptr(attr->addr));
}

static int kvm_vfio_has_attr(struct kvm_device *dev,
			     struct kvm_device_attr *attr)
{
	if (attr->group != KVM_DEV_VFIO_FILE)
		return -ENXIO;

	switch (attr->attr) {
	case KVM_DEV_VFIO_FILE_ADD:
	case KVM_DEV_VFIO_FILE_DEL:
#ifdef CONFIG_SPAPR_TCE_IOMMU
	case KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE:
#endif
		return 0;
	default:
		return -ENXIO;
	}
}

/*
 * One line of the debugfs view for @kvf: its kind, the path the VMM opened
 * (escaped: a node's name is the user's choice), the number of its
 * character device (none for the device fd of VFIO_GROUP_GET_DEVICE_FD),
 * and VFIO's last answer on its coherency.  What VFIO knows of the file
 * (its device, its IOMMU group) is VFIO's to show: userspace finds it in
 * sysfs from the device number (tools/kvm/kvm_vfio_stat does).
 */
static void kvm_vfio_show_file(struct seq_file *m, struct kvm_vfio_file *kvf)
{
	struct inode *inode = file_inode(kvf->file);

	seq_printf(m, "%s name=", kvf->is_group ? "group" : "device");
	seq_file_path(m, kvf->file, " \t\n\\");
	if (S_ISCHR(inode->i_mode))
		seq_printf(m, " rdev=%u:%u", MAJOR(inode->i_rdev),
			   MINOR(inode->i_rdev));
	else
		seq_puts(m, " rdev=-");
	seq_printf(m, " coherent=%s", str_yes_no(!kvf->noncoherent));
#ifdef CONFIG_SPAPR_TCE_IOMMU
	seq_printf(m, " spapr_tce=%s", str_yes_no(!!kvf->iommu_group));
#endif
	seq_putc(m, '\n');
}

/*
 * The VM's debugfs file "vfio": a line per tracked file, then the totals
 * from the device's own counters (Documentation/virt/kvm/devices/vfio.rst
 * gives the format).  The read holds kv->lock, so that it sees the device
 * between two operations, and calls nothing under it.  That matters at
 * release, which runs under kvm->lock and waits in debugfs_remove() for a
 * read in progress: the read can wait only for kv->lock, which no
 * operation holds once the device's fd is released.
 */
static int kvm_vfio_debugfs_show(struct seq_file *m, void *unused)
{
	struct kvm_vfio *kv = m->private;
	struct rb_node *n;

	guard(mutex)(&kv->lock);
	for (n = rb_first(&kv->files); n; n = rb_next(n))
		kvm_vfio_show_file(m, rb_entry(n, struct kvm_vfio_file, node));
	seq_printf(m, "total files=%lu groups=%zu noncoherent_devices=%lu noncoherent_dma=%s\n",
		   kv->nr_files, list_count_nodes(&kv->groups),
		   kv->nr_noncoherent_devs, str_yes_no(kv->noncoherent));
	return 0;
}

/*
 * Sized for the files tracked when it is opened (a line takes under 128
 * bytes but for long paths), so that a device with thousands of files is
 * shown in one pass under kv->lock, not one per doubling of the buffer.
 */
static int kvm_vfio_debugfs_open(struct inode *inode, struct file *file)
{
	struct kvm_vfio *kv = inode->i_private;

	return single_open_size(file, kvm_vfio_debugfs_show, kv,
				/* a size hint: files come and go meanwhile */
				(data_race(kv->nr_files) + 1) * 128);
}

static const struct file_operations kvm_vfio_debugfs_fops = {
	.owner = THIS_MODULE,
	.open = kvm_vfio_debugfs_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* The .init of the device: after create, and without kvm->lock. */
static void kvm_vfio_debugfs_init(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;

	kv->debugfs = debugfs_create_file("vfio", 0444, dev->kvm->debugfs_dentry,
					  kv, &kvm_vfio_debugfs_fops);
}

/*
 * The last fput of the device's fd: no ioctl on it is in flight or can
 * start, so kv->lock is not needed and not taken.  KVM holds kvm->lock
 * here, and kv->lock is held over calls that take VFIO's group locks,
 * under which drivers such as vfio-ap and KVMGT take kvm->lock in
 * open_device: taking kv->lock here would close that cycle, the class of
 * deadlock upstream removed in 51cdc8bc120e ("kvm/vfio: Fix potential
 * deadlock on vfio group_lock") and 2b48f52f2bff ("vfio: fix deadlock
 * between group lock and kvm lock").  Every file goes back to VFIO without
 * a kvm; the post-order walk frees nodes without rebalancing the tree.
 */
static void kvm_vfio_release(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf, *next;

	debugfs_remove(kv->debugfs);
	trace_kvm_vfio_release(dev->kvm, kv->nr_files);
	rbtree_postorder_for_each_entry_safe(kvf, next, &kv->files, node)
		kvm_vfio_put_file(dev, kvf);
	if (kv->noncoherent) {
		trace_kvm_vfio_noncoherent(dev->kvm, false);
		kvm_vfio_unregister_noncoherent(dev->kvm);
	}
	/* Tracked files held VFIO's symbols: give them all back. */
	if (kv->nr_files)
		kvm_vfio_hooks_put(&kv->hooks);

	mutex_destroy(&kv->lock);
	kfree(kv);
	kfree(dev);	/* allocated by KVM; .release owns it */
}

static int kvm_vfio_create(struct kvm_device *dev, u32 type);

/*
 * THIS_MODULE is kvm-vfio.ko in module mode (KVM pins it while a device
 * exists) and KVM itself, or NULL, when the device is built in.
 */
static const struct kvm_device_ops kvm_vfio_ops = {
	.name = "kvm-vfio",
	.owner = THIS_MODULE,
	.create = kvm_vfio_create,
	.init = kvm_vfio_debugfs_init,
	.release = kvm_vfio_release,
	.set_attr = kvm_vfio_set_attr,
	.has_attr = kvm_vfio_has_attr,
};

static int kvm_vfio_create(struct kvm_device *dev, u32 type)
{
	struct kvm_device *other;
	struct kvm_vfio *kv;

	lockdep_assert_held(&dev->kvm->lock);

	/* One kvm-vfio device per VM. */
	list_for_each_entry(other, &dev->kvm->devices, vm_node)
		if (other->ops == &kvm_vfio_ops)
			return -EBUSY;

	kv = kvm_vfio_zalloc(sizeof(*kv));
	if (!kv)
		return -ENOMEM;

	mutex_init(&kv->lock);
	kv->files = RB_ROOT;
	INIT_LIST_HEAD(&kv->groups);
	dev->private = kv;
	return 0;
}

/**
 * kvm_vfio_ops_init() - register the kvm-vfio device type with KVM
 *
 * Return: 0 on success, or the error of kvm_register_device_ops().
 */
int kvm_vfio_ops_init(void)
{
	return kvm_register_device_ops(&kvm_vfio_ops, KVM_DEV_TYPE_VFIO);
}

/**
 * kvm_vfio_ops_exit() - unregister the kvm-vfio device type
 */
void kvm_vfio_ops_exit(void)
{
	kvm_unregister_device_ops(&kvm_vfio_ops, KVM_DEV_TYPE_VFIO);
}

#if IS_ENABLED(CONFIG_KVM_VFIO_KUNIT_TEST)
#include "vfio_test.c"
#endif
