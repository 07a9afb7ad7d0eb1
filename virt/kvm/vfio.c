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

#include <linux/errno.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/kvm_vfio.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/slab.h>
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
 * The device never depends on vfio.ko at link time.  When VFIO is built
 * into the kernel the entry points are simply its functions.  When VFIO is
 * a module they are resolved with symbol_get() by the operation that finds
 * the device tracking nothing, and kept while it tracks files: a tracked
 * file pins vfio.ko anyway (its f_op owner), so keeping them changes
 * nothing about unloading, and ADD and DEL with files tracked resolve
 * nothing (each symbol_get() and symbol_put() searches the symbol tables).
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
 * @noncoherent:  device files only: the device's IOMMU cannot enforce cache
 *		  coherency.  Fixed for the life of a device, so asked once.
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
 *		sPAPR attach).  Lock order: kvm->lock (held by KVM around
 *		create and release) -> @lock -> VFIO's own locks.  Never take
 *		kvm->lock while holding @lock.
 * @files:	tracked files, an rbtree keyed by struct file pointer
 * @groups:	tracked group files; the last one found non-coherent first
 * @nr_files:	number of entries in @files
 * @nr_noncoherent_devs: device files in @files with @noncoherent set
 * @noncoherent: the VM is registered for non-coherent DMA
 * @hooks:	VFIO entry points; held while @nr_files is not zero, and by
 *		the operation in progress (kvm_vfio_hold())
 */
struct kvm_vfio {
	struct mutex lock;	/* protects this struct, see above */
	struct rb_root files;
	struct list_head groups;
	unsigned long nr_files;
	unsigned long nr_noncoherent_devs;
	bool noncoherent;
	struct kvm_vfio_hooks hooks;
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
 * Make kv->hooks usable for one operation: already held if files are
 * tracked, resolved now otherwise.  Returns false when VFIO is not loaded.
 * Pair with kvm_vfio_unhold() before dropping kv->lock.
 */
static bool kvm_vfio_hold(struct kvm_vfio *kv)
{
	lockdep_assert_held(&kv->lock);

	return kv->nr_files || kvm_vfio_hooks_get(&kv->hooks);
}

/* End of an operation: keep kv->hooks only while files are tracked. */
static void kvm_vfio_unhold(struct kvm_vfio *kv)
{
	lockdep_assert_held(&kv->lock);

	if (!kv->nr_files)
		kvm_vfio_hooks_put(&kv->hooks);
}

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
 * One start per tracked file and one end when it goes, on the lines whose
 * device tells KVM (see vfio_compat.h); nothing at all on the others.
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

static struct kvm_vfio_file *kvm_vfio_find(struct kvm_vfio *kv,
					   struct file *file)
{
	struct rb_node *n = kv->files.rb_node;

	lockdep_assert_held(&kv->lock);

	while (n) {
		struct kvm_vfio_file *kvf = rb_entry(n, struct kvm_vfio_file,
						     node);

		if (file < kvf->file)
			n = n->rb_left;
		else if (file > kvf->file)
			n = n->rb_right;
		else
			return kvf;
	}
	return NULL;
}

/* The caller has checked with kvm_vfio_find() that @kvf->file is new. */
static void kvm_vfio_insert(struct kvm_vfio *kv, struct kvm_vfio_file *kvf)
{
	struct rb_node **link = &kv->files.rb_node, *parent = NULL;

	lockdep_assert_held(&kv->lock);

	while (*link) {
		struct kvm_vfio_file *cur = rb_entry(*link, struct kvm_vfio_file,
						     node);

		parent = *link;
		link = kvf->file < cur->file ? &parent->rb_left :
					       &parent->rb_right;
	}
	rb_link_node(&kvf->node, parent, link);
	rb_insert_color(&kvf->node, &kv->files);
	kv->nr_files++;
}

/*
 * Re-evaluate whether the VM can see non-coherent DMA and tell KVM when
 * that changes, so register and unregister calls always pair up.
 *
 * The answer is the same as asking VFIO about every tracked file, but asks
 * only where the answer can have changed.  In VFIO a device file's answer
 * is its device's IOMMU capability, fixed for the life of the device, so it
 * is asked once at ADD and counted in nr_noncoherent_devs.  A group's answer
 * is the AND over the devices currently in the group, so it changes when a
 * device joins or leaves the group while the group is tracked (for example
 * a device of the same IOMMU group bound to vfio-pci later); groups are
 * therefore asked again on every ADD and DEL, as upstream does, but only
 * when no device file already makes the VM non-coherent, and the walk stops
 * at the first non-coherent group, which is moved to the front so that the
 * next walk usually stops at once.  The cost per operation is O(1) with
 * device files (the cdev path) and with any non-coherent group, and
 * O(groups) only when every tracked group is coherent.
 */
static void kvm_vfio_update_coherency(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_hooks *h = &kv->hooks;
	bool noncoherent = kv->nr_noncoherent_devs > 0;
	struct kvm_vfio_file *kvf;

	lockdep_assert_held(&kv->lock);

	if (!noncoherent && h->enforced_coherent) {
		list_for_each_entry(kvf, &kv->groups, group_node) {
			if (!h->enforced_coherent(kvf->file)) {
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

/* Give @kvf's file back to VFIO without a kvm, drop it and free @kvf. */
static void kvm_vfio_drop(struct kvm_device *dev, struct kvm_vfio_file *kvf)
{
	struct kvm_vfio *kv = dev->private;

	kvm_vfio_end_assignment(dev->kvm);
	kvm_vfio_spapr_detach(dev->kvm, kvf);
	kv->hooks.set_kvm(kvf->file, NULL);
	fput(kvf->file);
	kfree(kvf);
}

/* Untrack @kvf, then drop it. */
static void kvm_vfio_forget(struct kvm_device *dev, struct kvm_vfio_file *kvf)
{
	struct kvm_vfio *kv = dev->private;

	lockdep_assert_held(&kv->lock);

	rb_erase(&kvf->node, &kv->files);
	kv->nr_files--;
	if (kvf->is_group)
		list_del(&kvf->group_node);
	else if (kvf->noncoherent)
		kv->nr_noncoherent_devs--;
	kvm_vfio_drop(dev, kvf);
}

/* @kind: set to the KVM_VFIO_KIND_* of @file, for the trace event */
static int kvm_vfio_add_file(struct kvm_device *dev, struct file *file,
			     int *kind)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_hooks *h = &kv->hooks;
	struct kvm_vfio_file *kvf;
	int ret = 0;

	mutex_lock(&kv->lock);

	/* Without VFIO loaded no file can be a VFIO file. */
	if (!kvm_vfio_hold(kv)) {
		ret = -EINVAL;
		goto out_unlock;
	}

	if (!h->is_valid(file)) {
		ret = -EINVAL;
		goto out_unhold;
	}
	*kind = h->is_group && h->is_group(file) ? KVM_VFIO_KIND_GROUP :
						   KVM_VFIO_KIND_DEVICE;

	if (kvm_vfio_find(kv, file)) {
		ret = -EEXIST;
		goto out_unhold;
	}

	kvf = kvm_vfio_zalloc(sizeof(*kvf));
	if (!kvf) {
		ret = -ENOMEM;
		goto out_unhold;
	}

	kvf->file = get_file(file);
	kvf->is_group = *kind == KVM_VFIO_KIND_GROUP;
	if (kvf->is_group) {
		list_add_tail(&kvf->group_node, &kv->groups);
	} else {
		kvf->noncoherent = !h->enforced_coherent(file);
		if (kvf->noncoherent)
			kv->nr_noncoherent_devs++;
	}
	kvm_vfio_insert(kv, kvf);

	kvm_vfio_start_assignment(dev->kvm);
	h->set_kvm(file, dev->kvm);
	kvm_vfio_update_coherency(dev);

out_unhold:
	kvm_vfio_unhold(kv);
out_unlock:
	mutex_unlock(&kv->lock);
	return ret;
}

/* @kind: set to the KVM_VFIO_KIND_* of @file if it was tracked */
static int kvm_vfio_del_file(struct kvm_device *dev, struct file *file,
			     int *kind)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf;
	int ret = -ENOENT;

	mutex_lock(&kv->lock);

	/* Files pin vfio.ko, so without it nothing can be tracked. */
	if (!kvm_vfio_hold(kv))
		goto out_unlock;

	kvf = kvm_vfio_find(kv, file);
	if (kvf) {
		*kind = kvf->is_group ? KVM_VFIO_KIND_GROUP :
					KVM_VFIO_KIND_DEVICE;
		kvm_vfio_forget(dev, kvf);
		ret = 0;
	}
	/* Even on ENOENT, as upstream: a group's answer may have changed. */
	kvm_vfio_update_coherency(dev);

	kvm_vfio_unhold(kv);
out_unlock:
	mutex_unlock(&kv->lock);
	return ret;
}

static int kvm_vfio_file_add(struct kvm_device *dev, int fd)
{
	int kind = KVM_VFIO_KIND_NONE;
	struct file *file = fget(fd);
	int ret = -EBADF;

	if (file) {
		ret = kvm_vfio_add_file(dev, file, &kind);
		fput(file);
	}
	trace_kvm_vfio_file_add(dev->kvm, fd, kind, ret);
	return ret;
}

static int kvm_vfio_file_del(struct kvm_device *dev, int fd)
{
	int kind = KVM_VFIO_KIND_NONE;
	struct file *file = fget(fd);
	int ret = -EBADF;

	if (file) {
		ret = kvm_vfio_del_file(dev, file, &kind);
		fput(file);
	}
	trace_kvm_vfio_file_del(dev->kvm, fd, kind, ret);
	return ret;
}

#ifdef CONFIG_SPAPR_TCE_IOMMU
static int kvm_vfio_spapr_attach(struct kvm_device *dev, struct file *file,
				 int tablefd)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf;
	int ret = -ENOENT;

	mutex_lock(&kv->lock);

	if (!kvm_vfio_hold(kv))
		goto out_unlock;

	kvf = kvm_vfio_find(kv, file);
	if (!kvf)
		goto out_unhold;

	/* Taken once; dropped by DEL or release. */
	if (!kvf->iommu_group) {
		kvf->iommu_group = kv->hooks.iommu_group(file);
		if (!kvf->iommu_group) {
			ret = -EIO;	/* not a group, e.g. a device cdev */
			goto out_unhold;
		}
	}

	ret = kvm_vfio_tce_attach(dev->kvm, tablefd, kvf->iommu_group);

out_unhold:
	kvm_vfio_unhold(kv);
out_unlock:
	mutex_unlock(&kv->lock);
	return ret;
}

static int kvm_vfio_set_spapr_tce(struct kvm_device *dev, void __user *arg)
{
	struct kvm_vfio_spapr_tce param;
	struct file *file;
	int ret;

	if (copy_from_user(&param, arg, sizeof(param)))
		return -EFAULT;

	file = fget(param.groupfd);
	ret = -EBADF;
	if (file) {
		ret = kvm_vfio_spapr_attach(dev, file, param.tablefd);
		fput(file);
	}
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
		return kvm_vfio_file_add(dev, fd);
	case KVM_DEV_VFIO_FILE_DEL:
		if (get_user(fd, fdp))
			return -EFAULT;
		return kvm_vfio_file_del(dev, fd);
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
 * The device fd was closed (KVM holds kvm->lock and has already removed the
 * device from kvm->devices).  Every tracked file goes back to VFIO without
 * a kvm and loses our reference; the VM stops being non-coherent.
 */
static void kvm_vfio_release(struct kvm_device *dev)
{
	struct kvm_vfio *kv = dev->private;
	struct kvm_vfio_file *kvf, *next;

	/* kv->hooks are held if anything is tracked. */
	mutex_lock(&kv->lock);
	trace_kvm_vfio_release(dev->kvm, kv->nr_files);
	/*
	 * A post-order walk may free each node but must not rb_erase() it
	 * (erasing rebalances the tree under the walk), so the tree and the
	 * counters are reset as a whole afterwards.
	 */
	rbtree_postorder_for_each_entry_safe(kvf, next, &kv->files, node)
		kvm_vfio_drop(dev, kvf);
	kv->files = RB_ROOT;
	INIT_LIST_HEAD(&kv->groups);
	kv->nr_files = 0;
	kv->nr_noncoherent_devs = 0;
	kvm_vfio_update_coherency(dev);
	kvm_vfio_unhold(kv);
	mutex_unlock(&kv->lock);

	mutex_destroy(&kv->lock);
	kfree(kv);
	kfree(dev);	/* allocated by KVM; .release owns it */
}

static int kvm_vfio_create(struct kvm_device *dev, u32 type);

/* Not const: the owner is filled in at registration where KVM has one. */
static struct kvm_device_ops kvm_vfio_ops = {
	.name = "kvm-vfio",
	.create = kvm_vfio_create,
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
	kvm_vfio_compat_set_owner(&kvm_vfio_ops, THIS_MODULE);
	return kvm_register_device_ops(&kvm_vfio_ops, KVM_DEV_TYPE_VFIO);
}

/**
 * kvm_vfio_ops_exit() - unregister the kvm-vfio device type
 */
void kvm_vfio_ops_exit(void)
{
	kvm_unregister_device_ops(KVM_DEV_TYPE_VFIO);
}

#if IS_ENABLED(CONFIG_KVM_VFIO_KUNIT_TEST)
#include "vfio_test.c"
#endif
