// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite for the KVM-VFIO device.
 *
 * Included at the end of vfio.c so the cases reach its static functions.
 * VFIO and the KVM architecture hooks are replaced with static stubs that
 * count calls: no VFIO file, no VM memory and no vCPU are touched.  The
 * tracked files are real struct files (anonymous inodes) so that reference
 * counting is the kernel's own.
 */

#include <kunit/test.h>
#include <kunit/static_stub.h>
#include <linux/anon_inodes.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/prandom.h>
#include <linux/vmalloc.h>

/* What the fake VFIO knows about one of its files. */
struct kvm_vfio_fake {
	bool group;
	bool noncoherent;
	bool gone;		/* a group whose iommu group went away */
	long refs;		/* file_count() of the file while untracked */
	struct kvm *kvm;	/* last kvm given by vfio_file_set_kvm() */
};

/* Per-case state, in test->priv. */
struct kvm_vfio_test {
	struct kvm *kvm;
	struct kvm_device *dev;
	bool vfio_absent;
	bool fail_alloc;
	bool releasing;		/* in kt_release(), under kvm->lock */
	atomic_t hooks_get, hooks_put;	/* kvm_vfio_hooks_get/put calls */
	int set_kvm, set_kvm_null;
	int registered, unregistered;
	int started, ended;
	int group_gets, tce_attaches, tce_releases;	/* sPAPR */
	long tce_attach_ret;
};

static const struct file_operations kvm_vfio_fake_fops = { };
static const struct file_operations kvm_vfio_other_fops = { };

static struct kvm_vfio_test *kt_ctx(void)
{
	return kunit_get_current_test()->priv;
}

static struct kvm_vfio *kt_kv(struct kvm_vfio_test *t)
{
	return t->dev->private;
}

/* Held by the calling thread, not merely by some thread. */
static bool kt_held(struct mutex *lock)
{
	if (IS_ENABLED(CONFIG_LOCKDEP))
		return lockdep_is_held(lock);
	return mutex_is_locked(lock);
}

/*
 * The caller has the device to itself: it holds the device's lock, or it is
 * release, which KVM calls under kvm->lock once no ioctl can reach it.
 */
static void kt_expect_exclusive(struct kunit *test, struct kvm_vfio_test *t)
{
	if (t->releasing)
		KUNIT_EXPECT_TRUE(test, kt_held(&t->kvm->lock));
	else
		KUNIT_EXPECT_TRUE(test, kt_held(&kt_kv(t)->lock));
}

/* Fake VFIO entry points. */
static bool fake_is_valid(struct file *file)
{
	return file->f_op == &kvm_vfio_fake_fops;
}

static void fake_set_kvm(struct file *file, struct kvm *kvm)
{
	struct kunit *test = kunit_get_current_test();
	struct kvm_vfio_test *t = kt_ctx();
	struct kvm_vfio_fake *f = file->private_data;

	/* F5/F8: VFIO is told by the thread that owns the device ... */
	kt_expect_exclusive(test, t);
	/*
	 * ... and only while the device holds its own reference: on ADD once
	 * it took it, when the file goes before it drops it.
	 */
	KUNIT_EXPECT_EQ(test, file_count(file), f->refs + 1);
	f->kvm = kvm;
	if (kvm)
		t->set_kvm++;
	else
		t->set_kvm_null++;
}

static bool fake_enforced_coherent(struct file *file)
{
	struct kvm_vfio_fake *f = file->private_data;

	return !f->noncoherent;
}

static bool fake_is_group(struct file *file)
{
	struct kvm_vfio_fake *f = file->private_data;

	return f->group;
}

#ifdef CONFIG_SPAPR_TCE_IOMMU
/* Stands for an iommu_group; the stubs never dereference it. */
static int kt_fake_iommu_group;
#define KT_GRP ((struct iommu_group *)&kt_fake_iommu_group)

/*
 * vfio_file_iommu_group(): a referenced group, for group files only, and
 * not for a group whose last device was removed.
 */
static struct iommu_group *fake_iommu_group(struct file *file)
{
	struct kvm_vfio_fake *f = file->private_data;

	if (!f->group || f->gone)
		return NULL;
	kt_ctx()->group_gets++;
	return KT_GRP;
}

static long fake_tce_attach(struct kvm *kvm, int tablefd,
			    struct iommu_group *grp)
{
	struct kunit *test = kunit_get_current_test();
	struct kvm_vfio_test *t = kt_ctx();

	KUNIT_EXPECT_PTR_EQ(test, kvm, t->kvm);
	KUNIT_EXPECT_PTR_EQ(test, grp, KT_GRP);
	kt_expect_exclusive(test, t);
	t->tce_attaches++;
	return t->tce_attach_ret;
}

static void fake_tce_release(struct kvm *kvm, struct iommu_group *grp)
{
	struct kunit *test = kunit_get_current_test();
	struct kvm_vfio_test *t = kt_ctx();

	KUNIT_EXPECT_PTR_EQ(test, kvm, t->kvm);
	KUNIT_EXPECT_PTR_EQ(test, grp, KT_GRP);
	kt_expect_exclusive(test, t);
	t->tce_releases++;
	KUNIT_EXPECT_LE(test, t->tce_releases, t->group_gets);
}
#endif

static bool fake_hooks_get(struct kvm_vfio_hooks *h)
{
	struct kvm_vfio_test *t = kt_ctx();

	memset(h, 0, sizeof(*h));
	if (t->vfio_absent)
		return false;
	atomic_inc(&t->hooks_get);
	h->is_valid = fake_is_valid;
	h->set_kvm = fake_set_kvm;
	h->enforced_coherent = fake_enforced_coherent;
	h->is_group = fake_is_group;
#ifdef CONFIG_SPAPR_TCE_IOMMU
	h->iommu_group = fake_iommu_group;
#endif
	return true;
}

static void fake_hooks_put(struct kvm_vfio_hooks *h)
{
	if (h->is_valid)
		atomic_inc(&kt_ctx()->hooks_put);
	memset(h, 0, sizeof(*h));
}

/* Fake KVM architecture hooks. */
static void fake_register(struct kvm *kvm)
{
	struct kunit *test = kunit_get_current_test();
	struct kvm_vfio_test *t = kt_ctx();

	KUNIT_EXPECT_PTR_EQ(test, kvm, t->kvm);
	/* H1: coherency changes are decided and told by the owner. */
	kt_expect_exclusive(test, t);
	KUNIT_EXPECT_EQ(test, t->registered, t->unregistered);
	t->registered++;
}

static void fake_unregister(struct kvm *kvm)
{
	struct kunit *test = kunit_get_current_test();
	struct kvm_vfio_test *t = kt_ctx();

	KUNIT_EXPECT_PTR_EQ(test, kvm, t->kvm);
	kt_expect_exclusive(test, t);
	KUNIT_EXPECT_EQ(test, t->registered, t->unregistered + 1);
	t->unregistered++;
}

/*
 * The start (or end) assignment calls for N files: one per file where the
 * kernel tracks assigned devices (see vfio_compat.h), none elsewhere.
 */
#define KT_ASSIGN(n) (KVM_VFIO_HAS_ASSIGNMENT_HOOKS ? (n) : 0)

static void fake_start(struct kvm *kvm)
{
	kt_ctx()->started++;
}

static void fake_end(struct kvm *kvm)
{
	kt_ctx()->ended++;
}

static void *fake_zalloc(size_t size)
{
	if (kt_ctx()->fail_alloc)
		return NULL;
	return kzalloc(size, GFP_KERNEL_ACCOUNT);
}

KUNIT_DEFINE_ACTION_WRAPPER(kt_fput, fput, struct file *);

/* A file of the fake VFIO (or, with @fops, of something else). */
static struct file *kt_file_fops(struct kunit *test, bool group,
				 bool noncoherent,
				 const struct file_operations *fops)
{
	struct kvm_vfio_fake *f;
	struct file *file;

	f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	f->group = group;
	f->noncoherent = noncoherent;
	file = anon_inode_getfile("[kvm-vfio-test]", fops, f, O_RDWR);
	KUNIT_ASSERT_FALSE(test, IS_ERR(file));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, kt_fput, file), 0);
	f->refs = file_count(file);
	return file;
}

static struct file *kt_dev_file(struct kunit *test, bool noncoherent)
{
	return kt_file_fops(test, false, noncoherent, &kvm_vfio_fake_fops);
}

static struct file *kt_group_file(struct kunit *test, bool noncoherent)
{
	return kt_file_fops(test, true, noncoherent, &kvm_vfio_fake_fops);
}

/*
 * Whether @file is tracked, as VFIO and the file itself see it: VFIO was
 * given the kvm and the device holds one reference; or neither.
 */
static void kt_expect_tracked(struct kunit *test, struct kvm_vfio_test *t,
			      struct file *file, bool tracked)
{
	struct kvm_vfio_fake *f = file->private_data;

	KUNIT_EXPECT_PTR_EQ(test, f->kvm, tracked ? t->kvm : NULL);
	KUNIT_EXPECT_EQ(test, file_count(file), f->refs + tracked);
}

/* Files VFIO was given the kvm for and not yet told to forget. */
static int kt_files_told(struct kvm_vfio_test *t)
{
	return t->set_kvm - t->set_kvm_null;
}

/* No VFIO symbol is held: every hooks_get() was put. */
static bool kt_hooks_given_back(struct kvm_vfio_test *t)
{
	return atomic_read(&t->hooks_get) == atomic_read(&t->hooks_put);
}

static int kt_create(struct kvm_vfio_test *t, struct kvm_device *dev)
{
	int ret;

	dev->ops = &kvm_vfio_ops;
	dev->kvm = t->kvm;
	mutex_lock(&t->kvm->lock);
	ret = kvm_vfio_ops.create(dev, KVM_DEV_TYPE_VFIO);
	if (!ret)
		list_add_rcu(&dev->vm_node, &t->kvm->devices);
	mutex_unlock(&t->kvm->lock);
	return ret;
}

/* What KVM does when the device fd is closed. */
static void kt_release(struct kvm_vfio_test *t)
{
	mutex_lock(&t->kvm->lock);
	list_del_rcu(&t->dev->vm_node);
	t->releasing = true;
	kvm_vfio_ops.release(t->dev);
	t->releasing = false;
	mutex_unlock(&t->kvm->lock);
	t->dev = NULL;
}

#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
/* Only the debug check's own cases ask VFIO again. */
static unsigned long fake_stale_coherency(struct kvm_vfio *kv)
{
	return 0;
}
#endif

static int kvm_vfio_test_init(struct kunit *test)
{
	struct kvm_vfio_test *t;
	int ret;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->kvm = kunit_kzalloc(test, sizeof(*t->kvm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->kvm);
	mutex_init(&t->kvm->lock);
	INIT_LIST_HEAD(&t->kvm->devices);
	test->priv = t;

	kunit_activate_static_stub(test, kvm_vfio_hooks_get, fake_hooks_get);
	kunit_activate_static_stub(test, kvm_vfio_hooks_put, fake_hooks_put);
	kunit_activate_static_stub(test, kvm_vfio_register_noncoherent,
				   fake_register);
	kunit_activate_static_stub(test, kvm_vfio_unregister_noncoherent,
				   fake_unregister);
	kunit_activate_static_stub(test, kvm_vfio_start_assignment, fake_start);
	kunit_activate_static_stub(test, kvm_vfio_end_assignment, fake_end);
	kunit_activate_static_stub(test, kvm_vfio_zalloc, fake_zalloc);
#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
	kunit_activate_static_stub(test, kvm_vfio_stale_coherency,
				   fake_stale_coherency);
#endif
#ifdef CONFIG_SPAPR_TCE_IOMMU
	kunit_activate_static_stub(test, kvm_vfio_tce_attach, fake_tce_attach);
	kunit_activate_static_stub(test, kvm_vfio_tce_release,
				   fake_tce_release);
#endif

	t->dev = kzalloc(sizeof(*t->dev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t->dev);
	ret = kt_create(t, t->dev);
	if (ret) {
		/* Not created, so exit has nothing to release. */
		kfree(t->dev);
		t->dev = NULL;
	}
	KUNIT_ASSERT_EQ(test, ret, 0);
	return 0;
}

static void kvm_vfio_test_exit(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;

	if (t && t->dev) {
		kt_release(t);
		/* Whatever the case did, release balances everything. */
		KUNIT_EXPECT_EQ(test, t->registered, t->unregistered);
		KUNIT_EXPECT_EQ(test, t->started, t->ended);
		KUNIT_EXPECT_EQ(test, t->set_kvm, t->set_kvm_null);
		KUNIT_EXPECT_EQ(test, atomic_read(&t->hooks_get),
				atomic_read(&t->hooks_put));
#ifdef CONFIG_SPAPR_TCE_IOMMU
		/* S1: every iommu_group reference taken is dropped. */
		KUNIT_EXPECT_EQ(test, t->tce_releases, t->group_gets);
#endif
	}
}

static int kt_add_file(struct kvm_device *dev, struct file *file)
{
	int kind;

	return kvm_vfio_add_file(dev, file, &kind);
}

static int kt_del_file(struct kvm_device *dev, struct file *file)
{
	int kind;

	return kvm_vfio_del_file(dev, file, &kind);
}

#define kt_add(t, file) kt_add_file((t)->dev, file)
#define kt_del(t, file) kt_del_file((t)->dev, file)

/*
 * C1, C5: a new device tracks nothing, has told VFIO and KVM nothing, and
 * holds no VFIO symbol.
 */
static void kvm_vfio_test_create(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, true);

	KUNIT_EXPECT_EQ(test, kt_del(t, file), -ENOENT);
	kt_expect_tracked(test, t, file, false);
	KUNIT_EXPECT_EQ(test, t->set_kvm + t->set_kvm_null, 0);
	KUNIT_EXPECT_EQ(test, t->registered + t->started + t->ended, 0);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));
}

/* C2: a second instance in the same VM is refused. */
static void kvm_vfio_test_create_twice(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_device *dev2 = kunit_kzalloc(test, sizeof(*dev2), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev2);
	KUNIT_EXPECT_EQ(test, kt_create(t, dev2), -EBUSY);
}

/* C3: after release, create works again. */
static void kvm_vfio_test_create_after_release(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_device *dev2 = kzalloc(sizeof(*dev2), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev2);
	kt_release(t);
	KUNIT_EXPECT_EQ(test, kt_create(t, dev2), 0);
	t->dev = dev2;
}

/* Other device types in the VM do not count as a kvm-vfio device. */
static void kvm_vfio_test_create_other_type(struct kunit *test)
{
	static const struct kvm_device_ops other_ops = { .name = "other" };
	struct kvm_vfio_test *t = test->priv;
	struct kvm_device other = { .ops = &other_ops };
	struct kvm_device *dev2 = kzalloc(sizeof(*dev2), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev2);
	kt_release(t);
	mutex_lock(&t->kvm->lock);
	list_add(&other.vm_node, &t->kvm->devices);
	mutex_unlock(&t->kvm->lock);
	KUNIT_EXPECT_EQ(test, kt_create(t, dev2), 0);
	t->dev = dev2;
	mutex_lock(&t->kvm->lock);
	list_del(&other.vm_node);
	mutex_unlock(&t->kvm->lock);
}

/*
 * KVM's registry of device types, which the module relies on: only the ops
 * that registered a type may unregister it.  Another's ops, or a type past
 * the table, WARN and leave the table alone, so the type is still taken
 * (registering it again is EEXIST).  The WARNs can be checked only where
 * KUnit can suppress them; a WARN anywhere else fails the run.
 */
static void kvm_vfio_test_unregister_not_owner(struct kunit *test)
{
#ifdef kunit_warning_suppress
	static const struct kvm_device_ops other_ops = { .name = "other" };

	/*
	 * The device type must be registered already (KVM initialised); if
	 * it is not, these ops must not stay in the table.
	 */
	if (!kvm_register_device_ops(&other_ops, KVM_DEV_TYPE_VFIO)) {
		kvm_unregister_device_ops(&other_ops, KVM_DEV_TYPE_VFIO);
		kunit_skip(test, "KVM_DEV_TYPE_VFIO is not registered yet");
	}
	kunit_warning_suppress(test) {
		kvm_unregister_device_ops(&other_ops, KVM_DEV_TYPE_VFIO);
		kvm_unregister_device_ops(&other_ops, KVM_DEV_TYPE_MAX);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 2);
	}
	if (!kvm_register_device_ops(&other_ops, KVM_DEV_TYPE_VFIO)) {
		kvm_unregister_device_ops(&other_ops, KVM_DEV_TYPE_VFIO);
		KUNIT_FAIL(test, "another's unregister took KVM_DEV_TYPE_VFIO");
	}
#else
	kunit_skip(test, "no KUnit warning suppression on this kernel (6.12)");
#endif
}

/* Allocation failure in create. */
static void kvm_vfio_test_create_nomem(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_device *dev2 = kunit_kzalloc(test, sizeof(*dev2), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, dev2);
	kt_release(t);
	t->fail_alloc = true;
	KUNIT_EXPECT_EQ(test, kt_create(t, dev2), -ENOMEM);
	KUNIT_EXPECT_TRUE(test, list_empty(&t->kvm->devices));
}

/* F5: ADD takes a reference, tells VFIO the kvm, starts assignment. */
static void kvm_vfio_test_add(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, false);
	struct kvm_vfio_fake *f = file->private_data;
	long refs = file_count(file);

	KUNIT_EXPECT_EQ(test, kt_add(t, file), 0);
	KUNIT_EXPECT_EQ(test, file_count(file), refs + 1);
	KUNIT_EXPECT_PTR_EQ(test, f->kvm, t->kvm);
	KUNIT_EXPECT_EQ(test, t->set_kvm, 1);
	KUNIT_EXPECT_EQ(test, t->started, KT_ASSIGN(1));
	KUNIT_EXPECT_EQ(test, t->registered, 0);	/* a coherent file */
}

/* F4: the same struct file twice is EEXIST and takes nothing. */
static void kvm_vfio_test_add_duplicate(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, false);
	long refs;

	KUNIT_ASSERT_EQ(test, kt_add(t, file), 0);
	refs = file_count(file);
	KUNIT_EXPECT_EQ(test, kt_add(t, file), -EEXIST);
	KUNIT_EXPECT_EQ(test, file_count(file), refs);
	KUNIT_EXPECT_EQ(test, t->set_kvm, 1);
	KUNIT_EXPECT_EQ(test, t->started, KT_ASSIGN(1));
	/* Still tracked once: one DEL takes it out. */
	KUNIT_EXPECT_EQ(test, kt_del(t, file), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, file), -ENOENT);
}

/*
 * F4 before ENOMEM: a file already tracked is EEXIST even when no memory
 * could be had, and nothing is taken or told.
 */
static void kvm_vfio_test_add_duplicate_nomem(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, true);

	KUNIT_ASSERT_EQ(test, kt_add(t, file), 0);
	t->fail_alloc = true;
	KUNIT_EXPECT_EQ(test, kt_add(t, file), -EEXIST);
	t->fail_alloc = false;
	kt_expect_tracked(test, t, file, true);
	KUNIT_EXPECT_EQ(test, t->set_kvm, 1);
	KUNIT_EXPECT_EQ(test, t->started, KT_ASSIGN(1));
	KUNIT_EXPECT_EQ(test, t->registered, 1);
}

/* F4: two opens of one device are two files, both accepted. */
static void kvm_vfio_test_add_two_files(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *a = kt_dev_file(test, false), *b = kt_dev_file(test, false);

	KUNIT_EXPECT_EQ(test, kt_add(t, a), 0);
	KUNIT_EXPECT_EQ(test, kt_add(t, b), 0);
	kt_expect_tracked(test, t, a, true);
	kt_expect_tracked(test, t, b, true);
	KUNIT_EXPECT_EQ(test, kt_files_told(t), 2);
}

/* F2: a file VFIO does not own is EINVAL and takes nothing. */
static void kvm_vfio_test_add_not_vfio(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_file_fops(test, false, false,
					 &kvm_vfio_other_fops);
	long refs = file_count(file);

	KUNIT_EXPECT_EQ(test, kt_add(t, file), -EINVAL);
	KUNIT_EXPECT_EQ(test, file_count(file), refs);
	KUNIT_EXPECT_EQ(test, t->set_kvm + t->started, 0);
}

/* F3: without VFIO loaded ADD is EINVAL, DEL is ENOENT. */
static void kvm_vfio_test_vfio_absent(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, false);

	t->vfio_absent = true;
	KUNIT_EXPECT_EQ(test, kt_add(t, file), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_del(t, file), -ENOENT);
	kt_expect_tracked(test, t, file, false);
	KUNIT_EXPECT_EQ(test, t->set_kvm + t->started, 0);
	t->vfio_absent = false;
}

/* Allocation failure in ADD: ENOMEM, nothing taken, nothing told. */
static void kvm_vfio_test_add_nomem(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, true);
	long refs = file_count(file);

	t->fail_alloc = true;
	KUNIT_EXPECT_EQ(test, kt_add(t, file), -ENOMEM);
	t->fail_alloc = false;
	KUNIT_EXPECT_EQ(test, file_count(file), refs);
	KUNIT_EXPECT_EQ(test, t->set_kvm + t->started + t->registered, 0);
	KUNIT_EXPECT_EQ(test, kt_add(t, file), 0);
}

/* F8: DEL untracks, clears the kvm, drops the reference. */
static void kvm_vfio_test_del(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_dev_file(test, false);
	struct kvm_vfio_fake *f = file->private_data;
	long refs = file_count(file);

	KUNIT_ASSERT_EQ(test, kt_add(t, file), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, file), 0);
	KUNIT_EXPECT_EQ(test, file_count(file), refs);
	KUNIT_EXPECT_NULL(test, f->kvm);
	KUNIT_EXPECT_EQ(test, t->set_kvm_null, 1);
	KUNIT_EXPECT_EQ(test, t->ended, KT_ASSIGN(1));
	/* Set_kvm(NULL) came before the reference went (fake_set_kvm). */
	KUNIT_EXPECT_EQ(test, kt_del(t, file), -ENOENT);
}

/* F7: DEL of a file never added, of any kind, is ENOENT. */
static void kvm_vfio_test_del_untracked(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *other = kt_file_fops(test, false, false,
					  &kvm_vfio_other_fops);

	struct file *added = kt_dev_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, added), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, kt_dev_file(test, false)), -ENOENT);
	KUNIT_EXPECT_EQ(test, kt_del(t, other), -ENOENT);
	KUNIT_EXPECT_EQ(test, t->set_kvm_null + t->ended, 0);
	kt_expect_tracked(test, t, added, true);
}

/* DEL twice: the second is ENOENT; ADD after DEL works again. */
static void kvm_vfio_test_del_twice_readd(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *file = kt_group_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, file), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, file), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, file), -ENOENT);
	KUNIT_EXPECT_EQ(test, kt_add(t, file), 0);
	KUNIT_EXPECT_EQ(test, t->set_kvm, 2);
	KUNIT_EXPECT_EQ(test, t->set_kvm_null, 1);
}

/*
 * F9: a group is asked about coherency again while it is tracked, and no
 * more once it is deleted, whatever it answers then.
 */
static void kvm_vfio_test_group_and_device(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *group = kt_group_file(test, false);
	struct file *dev = kt_dev_file(test, false);
	struct kvm_vfio_fake *fg = group->private_data;

	KUNIT_ASSERT_EQ(test, kt_add(t, group), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, dev), 0);
	fg->noncoherent = true;	/* a non-coherent device joined the group */
	KUNIT_ASSERT_EQ(test, kt_del(t, dev), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_ASSERT_EQ(test, kt_del(t, group), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
	/* Deleted: its answer no longer counts. */
	KUNIT_ASSERT_EQ(test, kt_add(t, dev), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	kt_expect_tracked(test, t, group, false);
	fg->noncoherent = false;
}

/* H1: register once with the first non-coherent file. */
static void kvm_vfio_test_coherency_register_once(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *a = kt_dev_file(test, true), *b = kt_dev_file(test, true);

	KUNIT_ASSERT_EQ(test, kt_add(t, a), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_ASSERT_EQ(test, kt_add(t, b), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_ASSERT_EQ(test, kt_del(t, a), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 0);
	KUNIT_ASSERT_EQ(test, kt_del(t, b), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
}

/* H1: coherent files never register. */
static void kvm_vfio_test_coherency_coherent(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;

	KUNIT_ASSERT_EQ(test, kt_add(t, kt_dev_file(test, false)), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_group_file(test, false)), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 0);
}

/* H1: a coherent file beside a non-coherent one changes nothing. */
static void kvm_vfio_test_coherency_mixed(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *nc = kt_group_file(test, true);
	struct file *c = kt_dev_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, c), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, nc), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_ASSERT_EQ(test, kt_del(t, nc), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
	KUNIT_ASSERT_EQ(test, kt_del(t, c), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
}

/* H2: a group turning non-coherent is seen at the next ADD, as upstream. */
static void kvm_vfio_test_coherency_group_changes(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *group = kt_group_file(test, false);
	struct kvm_vfio_fake *f = group->private_data;

	KUNIT_ASSERT_EQ(test, kt_add(t, group), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 0);
	f->noncoherent = true;	/* a non-coherent device joined the group */
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_dev_file(test, false)), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	f->noncoherent = false;	/* ... and left it */
	KUNIT_EXPECT_EQ(test, kt_del(t, kt_dev_file(test, false)), -ENOENT);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
}

/*
 * H2: a non-coherent device file keeps the VM registered whatever the
 * groups answer; once it goes, the groups decide again.
 */
static void kvm_vfio_test_coherency_device_decides(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *nc = kt_dev_file(test, true), *g = kt_group_file(test, false);
	struct kvm_vfio_fake *fg = g->private_data;

	KUNIT_ASSERT_EQ(test, kt_add(t, nc), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
	fg->noncoherent = true;
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_dev_file(test, false)), 0);
	fg->noncoherent = false;
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_dev_file(test, false)), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_EXPECT_EQ(test, t->unregistered, 0);
	KUNIT_ASSERT_EQ(test, kt_del(t, nc), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
	fg->noncoherent = true;
	KUNIT_EXPECT_EQ(test, kt_del(t, nc), -ENOENT);	/* re-evaluates */
	KUNIT_EXPECT_EQ(test, t->registered, 2);
	fg->noncoherent = false;
}

/*
 * H2: every tracked group counts.  The non-coherent group turns coherent
 * while another one, found later, turns non-coherent: the VM stays
 * registered, without a gap; when none is left, it is unregistered.
 */
static void kvm_vfio_test_coherency_every_group(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_vfio_fake *fnc, *fmid = NULL;
	struct file *nc = kt_group_file(test, true), *g;
	int i;

	fnc = nc->private_data;
	for (i = 0; i < 32; i++) {
		g = kt_group_file(test, false);
		KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
		if (i == 16)
			fmid = g->private_data;
	}
	KUNIT_ASSERT_EQ(test, kt_add(t, nc), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_group_file(test, false)), 0);
	fnc->noncoherent = false;
	fmid->noncoherent = true;
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_group_file(test, false)), 0);
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	KUNIT_EXPECT_EQ(test, t->unregistered, 0);
	fmid->noncoherent = false;
	KUNIT_ASSERT_EQ(test, kt_add(t, kt_group_file(test, false)), 0);
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
}

#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
/* The debug check counts device files whose answer changed since ADD. */
static void kvm_vfio_test_debug_coherency(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *nc = kt_dev_file(test, true), *c = kt_dev_file(test, false);
	struct file *g = kt_group_file(test, false);
	struct kvm_vfio_fake *fnc = nc->private_data, *fc = c->private_data;
	struct kvm_vfio_fake *fg = g->private_data;
	unsigned long stale[4];

	KUNIT_ASSERT_EQ(test, kt_add(t, nc), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, c), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
	kunit_deactivate_static_stub(test, kvm_vfio_stale_coherency);
	mutex_lock(&kt_kv(t)->lock);
	stale[0] = kvm_vfio_stale_coherency(kt_kv(t));
	fg->noncoherent = true;		/* groups are asked every time anyway */
	stale[1] = kvm_vfio_stale_coherency(kt_kv(t));
	fnc->noncoherent = false;
	stale[2] = kvm_vfio_stale_coherency(kt_kv(t));
	fc->noncoherent = true;
	stale[3] = kvm_vfio_stale_coherency(kt_kv(t));
	fnc->noncoherent = true;
	fc->noncoherent = false;
	fg->noncoherent = false;
	mutex_unlock(&kt_kv(t)->lock);
	KUNIT_EXPECT_EQ(test, stale[0], 0);
	KUNIT_EXPECT_EQ(test, stale[1], 0);
	KUNIT_EXPECT_EQ(test, stale[2], 1);
	KUNIT_EXPECT_EQ(test, stale[3], 2);
	/* Answers as cached again: ADD and DEL run the check quietly. */
	KUNIT_EXPECT_EQ(test, kt_del(t, c), 0);
	KUNIT_EXPECT_EQ(test, kt_add(t, c), 0);
}

/* With many files, the check goes round them a batch at a time. */
static void kvm_vfio_test_debug_coherency_batches(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_vfio_fake *flipped = NULL;
	unsigned long stale = 0;
	int i, calls = 3;

	/* Three batches' worth: one round of the tree is three calls. */
	for (i = 0; i < 3 * KVM_VFIO_STALE_BATCH; i++) {
		struct file *f = kt_dev_file(test, false);

		KUNIT_ASSERT_EQ(test, kt_add(t, f), 0);
		if (i == 2 * KVM_VFIO_STALE_BATCH + 1)
			flipped = f->private_data;
	}
	kunit_deactivate_static_stub(test, kvm_vfio_stale_coherency);
	mutex_lock(&kt_kv(t)->lock);
	flipped->noncoherent = true;
	/* Found exactly once in one round of the tree ... */
	for (i = 0; i < calls; i++)
		stale += kvm_vfio_stale_coherency(kt_kv(t));
	KUNIT_EXPECT_EQ(test, stale, 1);
	/* ... and again in the next round. */
	for (i = 0; i < calls; i++)
		stale += kvm_vfio_stale_coherency(kt_kv(t));
	KUNIT_EXPECT_EQ(test, stale, 2);
	flipped->noncoherent = false;
	mutex_unlock(&kt_kv(t)->lock);
}
#endif

/*
 * VFIO's symbols are held while files are tracked, so that vfio.ko cannot
 * go under them, and all given back when none is: after the last DEL, a
 * failed ADD, and release.
 */
static void kvm_vfio_test_hooks_held(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *f = kt_dev_file(test, false);
	struct file *other = kt_file_fops(test, false, false,
					  &kvm_vfio_other_fops);
	int i;

	KUNIT_ASSERT_EQ(test, kt_add(t, f), 0);
	KUNIT_EXPECT_FALSE(test, kt_hooks_given_back(t));
	KUNIT_ASSERT_EQ(test, kt_del(t, f), 0);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));
	KUNIT_ASSERT_EQ(test, kt_add(t, other), -EINVAL);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));
	KUNIT_ASSERT_EQ(test, kt_del(t, f), -ENOENT);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));

	for (i = 0; i < 16; i++)
		KUNIT_ASSERT_EQ(test, kt_add(t, kt_dev_file(test, i & 1)), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, f), 0);
	KUNIT_ASSERT_EQ(test, kt_del(t, f), 0);
	KUNIT_EXPECT_FALSE(test, kt_hooks_given_back(t));
	kt_release(t);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));
	KUNIT_EXPECT_EQ(test, t->set_kvm_null, 18);
}

/* K2: start/end assignment balance through ADD, failed ADD and DEL. */
static void kvm_vfio_test_assignment_balance(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *a, *b;

	if (!KVM_VFIO_HAS_ASSIGNMENT_HOOKS)
		kunit_skip(test, "no assignment calls on this kernel: %s",
			   "it does not define __KVM_HAVE_ARCH_ASSIGNED_DEVICE");
	a = kt_dev_file(test, false);
	b = kt_group_file(test, true);

	KUNIT_ASSERT_EQ(test, kt_add(t, a), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, b), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, a), -EEXIST);
	KUNIT_EXPECT_EQ(test, t->started, KT_ASSIGN(2));
	KUNIT_ASSERT_EQ(test, kt_del(t, a), 0);
	KUNIT_EXPECT_EQ(test, t->ended, KT_ASSIGN(1));
	kt_release(t);
	KUNIT_EXPECT_EQ(test, t->ended, KT_ASSIGN(2));
}

/* R1: release drops every file, clears every kvm, unregisters once. */
static void kvm_vfio_test_release_many(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file **files;
	long *refs;
	int i;

	/* Not on the stack: 1.6 KB is over ppc64's frame limit. */
	files = kunit_kcalloc(test, 100, sizeof(*files), GFP_KERNEL);
	refs = kunit_kcalloc(test, 100, sizeof(*refs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, files);
	KUNIT_ASSERT_NOT_NULL(test, refs);
	for (i = 0; i < 100; i++) {
		files[i] = kt_file_fops(test, i % 3 == 0, i % 7 == 0,
					&kvm_vfio_fake_fops);
		refs[i] = file_count(files[i]);
		KUNIT_ASSERT_EQ(test, kt_add(t, files[i]), 0);
	}
	KUNIT_EXPECT_EQ(test, t->registered, 1);
	kt_release(t);
	for (i = 0; i < 100; i++) {
		struct kvm_vfio_fake *f = files[i]->private_data;

		KUNIT_EXPECT_EQ(test, file_count(files[i]), refs[i]);
		KUNIT_EXPECT_NULL(test, f->kvm);
	}
	KUNIT_EXPECT_EQ(test, t->set_kvm_null, 100);
	KUNIT_EXPECT_EQ(test, t->ended, KT_ASSIGN(100));
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
}

/* R1: releasing an empty device calls nothing. */
static void kvm_vfio_test_release_empty(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;

	kt_release(t);
	KUNIT_EXPECT_EQ(test, t->set_kvm_null + t->ended + t->unregistered, 0);
}

/* A user buffer holding @fd, for the attribute layer. */
static void __user *kt_user_fd(struct kunit *test, s32 fd)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr) || !addr)
		kunit_skip(test, "no user memory for the test thread");
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)addr, &fd,
					   sizeof(fd)), 0);
	return (void __user *)addr;
}

static int kt_set(struct kvm_vfio_test *t, u32 group, u64 attr,
		  void __user *addr)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (u64)(uintptr_t)addr,
	};

	return kvm_vfio_ops.set_attr(t->dev, &a);
}

/* A1, A2: wrong group or attribute is ENXIO, before reading addr. */
static void kvm_vfio_test_set_attr_enxio(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;

	KUNIT_EXPECT_EQ(test, kt_set(t, 0, KVM_DEV_VFIO_FILE_ADD, NULL), -ENXIO);
	KUNIT_EXPECT_EQ(test, kt_set(t, 2, KVM_DEV_VFIO_FILE_ADD, NULL), -ENXIO);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE, 0, NULL), -ENXIO);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE, 4, NULL), -ENXIO);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE, 1ULL << 32 | 1,
				     NULL), -ENXIO);
#ifndef CONFIG_SPAPR_TCE_IOMMU
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, NULL),
			-ENXIO);
#endif
}

/* A3: unreadable addr is EFAULT for ADD and DEL. */
static void kvm_vfio_test_set_attr_efault(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	void __user *bad = (void __user *)kt_user_fd(test, 0) + PAGE_SIZE;

	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_FILE_ADD, bad), -EFAULT);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_FILE_DEL, bad), -EFAULT);
}

/* F1, F6: fds that are not open are EBADF. */
static void kvm_vfio_test_set_attr_ebadf(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	s32 fds[] = { -1, INT_MAX, INT_MIN };
	int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++) {
		void __user *p = kt_user_fd(test, fds[i]);

		KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
					     KVM_DEV_VFIO_FILE_ADD, p), -EBADF);
		KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
					     KVM_DEV_VFIO_FILE_DEL, p), -EBADF);
	}
}

/* A4: HAS_DEVICE_ATTR answers for ADD and DEL only, ignoring addr. */
static void kvm_vfio_test_has_attr(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct kvm_device_attr a = { .group = KVM_DEV_VFIO_FILE, .addr = 1 };
	u64 attr;

	for (attr = 0; attr < 8; attr++) {
		int want = -ENXIO;

		if (attr == KVM_DEV_VFIO_FILE_ADD ||
		    attr == KVM_DEV_VFIO_FILE_DEL)
			want = 0;
#ifdef CONFIG_SPAPR_TCE_IOMMU
		if (attr == KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE)
			want = 0;
#endif
		a.attr = attr;
		KUNIT_EXPECT_EQ(test, kvm_vfio_ops.has_attr(t->dev, &a), want);
	}
	a.group = 0;
	a.attr = KVM_DEV_VFIO_FILE_ADD;
	KUNIT_EXPECT_EQ(test, kvm_vfio_ops.has_attr(t->dev, &a), -ENXIO);
	a.group = 2;
	KUNIT_EXPECT_EQ(test, kvm_vfio_ops.has_attr(t->dev, &a), -ENXIO);
}

#define KT_MANY 10000

/* Files of the fake VFIO made in bulk, and what puts them all. */
struct kt_files {
	struct file **files;
	int nr;
};

static void kt_files_put(void *arg)
{
	struct kt_files *many = arg;
	int i;

	for (i = 0; i < many->nr; i++)
		fput(many->files[i]);
}

KUNIT_DEFINE_ACTION_WRAPPER(kt_kvfree, kvfree, const void *);

/* @n zeroed elements of @size, vmalloc'ed if need be, freed after the case. */
static void *kt_kvcalloc(struct kunit *test, size_t n, size_t size)
{
	void *p = kvcalloc(n, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, kt_kvfree, p), 0);
	return p;
}

/*
 * @nr device files of the fake VFIO, the one at @noncoherent non-coherent,
 * held by four test resources in all rather than two per file: every
 * static stub call looks its replacement up in the test's resource list,
 * oldest last, so per-file resources would make each ADD cost O(nr).
 * Actions run in reverse order: the files are put before what they point
 * to is freed.
 */
static struct file **kt_files_many(struct kunit *test, int nr, int noncoherent)
{
	struct kvm_vfio_fake *fakes;
	struct kt_files *many;
	struct file *file;

	many = kunit_kzalloc(test, sizeof(*many), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, many);
	many->files = kt_kvcalloc(test, nr, sizeof(*many->files));
	fakes = kt_kvcalloc(test, nr, sizeof(*fakes));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, kt_files_put, many),
			0);
	for (many->nr = 0; many->nr < nr; many->nr++) {
		fakes[many->nr].noncoherent = many->nr == noncoherent;
		file = anon_inode_getfile("[kvm-vfio-test]", &kvm_vfio_fake_fops,
					  &fakes[many->nr], O_RDWR);
		KUNIT_ASSERT_FALSE(test, IS_ERR(file));
		fakes[many->nr].refs = file_count(file);
		many->files[many->nr] = file;
	}
	return many->files;
}

/* Fisher-Yates; swap() evaluates its arguments twice, so pick j first. */
static void kt_shuffle(u32 *a, int n, struct rnd_state *rnd)
{
	int i, j;

	for (i = n - 1; i > 0; i--) {
		j = prandom_u32_state(rnd) % (i + 1);
		swap(a[i], a[j]);
	}
}

/* 10,000 files added and removed in random order, lookups always right. */
static void kvm_vfio_test_many_random(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct rnd_state rnd;
	struct file **files;
	u32 *order;
	int i;

	order = kunit_kcalloc(test, KT_MANY, sizeof(*order), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, order);
	prandom_seed_state(&rnd, 0x6b766d2d7666696fULL);

	files = kt_files_many(test, KT_MANY, KT_MANY / 2);
	for (i = 0; i < KT_MANY; i++)
		order[i] = i;
	/* Add in a random order, with a duplicate attempt now and then. */
	kt_shuffle(order, KT_MANY, &rnd);
	for (i = 0; i < KT_MANY; i++) {
		KUNIT_ASSERT_EQ(test, kt_add(t, files[order[i]]), 0);
		if (i % 97 == 0)
			KUNIT_ASSERT_EQ(test, kt_add(t, files[order[i / 2]]),
					-EEXIST);
	}
	KUNIT_EXPECT_EQ(test, kt_files_told(t), KT_MANY);
	KUNIT_EXPECT_EQ(test, t->registered, 1);

	/* Remove in another random order. */
	kt_shuffle(order, KT_MANY, &rnd);
	for (i = 0; i < KT_MANY; i++) {
		KUNIT_ASSERT_EQ(test, kt_del(t, files[order[i]]), 0);
		if (i % 89 == 0)
			KUNIT_ASSERT_EQ(test, kt_del(t, files[order[i]]),
					-ENOENT);
	}
	KUNIT_EXPECT_EQ(test, kt_files_told(t), 0);
	KUNIT_EXPECT_TRUE(test, kt_hooks_given_back(t));
	KUNIT_EXPECT_EQ(test, t->unregistered, 1);
	KUNIT_EXPECT_EQ(test, t->set_kvm_null, KT_MANY);
	for (i = 0; i < KT_MANY; i++)
		KUNIT_ASSERT_EQ(test, file_count(files[i]), 1);
}

/*
 * Every file is found, or not, as it should be after ADDs and DELs
 * interleaved: DEL answers 0 once for a tracked file and ENOENT for one
 * deleted, ADD answers EEXIST for a tracked file and 0 for one deleted.
 */
static void kvm_vfio_test_lookup_after_del(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *files[64];
	int i;

	for (i = 0; i < 64; i++) {
		files[i] = kt_dev_file(test, false);
		KUNIT_ASSERT_EQ(test, kt_add(t, files[i]), 0);
	}
	for (i = 0; i < 64; i += 3)
		KUNIT_ASSERT_EQ(test, kt_del(t, files[i]), 0);
	for (i = 0; i < 64; i++) {
		kt_expect_tracked(test, t, files[i], i % 3 != 0);
		KUNIT_EXPECT_EQ(test, kt_add(t, files[i]),
				i % 3 ? -EEXIST : 0);
	}
	for (i = 63; i >= 0; i--) {
		KUNIT_EXPECT_EQ(test, kt_del(t, files[i]), 0);
		KUNIT_EXPECT_EQ(test, kt_del(t, files[i]), -ENOENT);
	}
	KUNIT_EXPECT_EQ(test, kt_files_told(t), 0);
}

#define KT_THREADS	4
#define KT_ROUNDS	2000

struct kt_worker {
	struct kunit *test;
	struct kvm_vfio_test *t;
	struct file *files[2];	/* one shared with the other workers */
	struct completion done;
	int bad;
};

static int kt_worker_fn(void *arg)
{
	struct kt_worker *w = arg;
	int i, ret;

	/* Let the static stubs see this thread as part of the test. */
	current->kunit_test = w->test;
	for (i = 0; i < KT_ROUNDS; i++) {
		struct file *f = w->files[i & 1];

		ret = i & 2 ? kt_del(w->t, f) : kt_add(w->t, f);
		if (ret && ret != -EEXIST && ret != -ENOENT)
			w->bad = ret;
	}
	current->kunit_test = NULL;
	complete(&w->done);
	return 0;
}

/*
 * Regression: coherency was once updated outside the lock.  Concurrent
 * ADD/DEL of non-coherent files must keep register/unregister strictly
 * alternating (fake_register checks it) and balanced at the end.
 */
static void kvm_vfio_test_concurrent_coherency(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *shared = kt_dev_file(test, true);
	struct task_struct *task;
	struct kt_worker *w;
	int i, started, err = 0;

	w = kunit_kcalloc(test, KT_THREADS, sizeof(*w), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, w);
	for (i = 0; i < KT_THREADS; i++) {
		w[i].test = test;
		w[i].t = t;
		w[i].files[0] = shared;
		w[i].files[1] = kt_dev_file(test, true);
		init_completion(&w[i].done);
	}
	/* No assertion until every started worker is done with the device. */
	for (started = 0; started < KT_THREADS; started++) {
		task = kthread_run(kt_worker_fn, &w[started], "kvm-vfio-kt%d",
				   started);
		if (IS_ERR(task)) {
			err = PTR_ERR(task);
			break;
		}
	}
	for (i = 0; i < started; i++)
		wait_for_completion(&w[i].done);
	KUNIT_ASSERT_EQ(test, err, 0);
	for (i = 0; i < KT_THREADS; i++)
		KUNIT_EXPECT_EQ(test, w[i].bad, 0);
	/* Empty the device: the VM must end up unregistered. */
	kt_del(t, shared);
	for (i = 0; i < KT_THREADS; i++)
		kt_del(t, w[i].files[1]);
	KUNIT_EXPECT_EQ(test, kt_files_told(t), 0);
	KUNIT_EXPECT_EQ(test, t->registered, t->unregistered);
	KUNIT_EXPECT_GE(test, t->registered, 1);
}

#ifdef CONFIG_SPAPR_TCE_IOMMU
#define kt_tce(t, file, tablefd) kvm_vfio_spapr_attach((t)->dev, file, tablefd)

/* S1: the group reference is taken once, whatever the attach returns. */
static void kvm_vfio_test_spapr_attach_once(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *g = kt_group_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), 0);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), 0);
	t->tce_attach_ret = -EINVAL;
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 8), -EINVAL);
	KUNIT_EXPECT_EQ(test, t->tce_attaches, 3);
	KUNIT_EXPECT_EQ(test, t->group_gets, 1);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 0);
	/* DEL drops it, once. */
	KUNIT_EXPECT_EQ(test, kt_del(t, g), 0);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 1);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), -ENOENT);
	KUNIT_EXPECT_EQ(test, t->tce_attaches, 3);
}

/* S1: untracked is ENOENT, a file without an iommu group EIO. */
static void kvm_vfio_test_spapr_errors(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *g = kt_group_file(test, false);
	struct file *d = kt_dev_file(test, false);

	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), -ENOENT);
	KUNIT_ASSERT_EQ(test, kt_add(t, d), 0);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), -ENOENT);
	KUNIT_EXPECT_EQ(test, kt_tce(t, d, 7), -EIO);
	KUNIT_EXPECT_EQ(test, kt_tce(t, d, 7), -EIO);
	KUNIT_EXPECT_EQ(test, t->tce_attaches, 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, d), 0);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 0);
}

/* S1: the ioctl path: EFAULT for the argument, EBADF for the groupfd. */
static void kvm_vfio_test_spapr_set_attr(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	void __user *p = kt_user_fd(test, -1);	/* groupfd -1, tablefd 0 */

	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, NULL),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE,
				     p + PAGE_SIZE - 4), -EFAULT);
	KUNIT_EXPECT_EQ(test, kt_set(t, KVM_DEV_VFIO_FILE,
				     KVM_DEV_VFIO_GROUP_SET_SPAPR_TCE, p),
			-EBADF);
	KUNIT_EXPECT_EQ(test, t->tce_attaches, 0);
}

/* S1: a group that never had a table has nothing to drop (no WARN). */
static void kvm_vfio_test_spapr_del_without_table(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *g = kt_group_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
	KUNIT_EXPECT_EQ(test, kt_del(t, g), 0);
	KUNIT_EXPECT_EQ(test, t->group_gets, 0);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 0);
}

/*
 * S1: a group whose iommu group went away (its last device removed while
 * the file stays open) has none to give: EIO, nothing attached, nothing
 * for DEL to drop.  The failed lookup is not kept: the next SET_SPAPR_TCE
 * asks VFIO again (here VFIO answers with a group the second time).
 */
static void kvm_vfio_test_spapr_group_gone(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *g = kt_group_file(test, false);
	struct kvm_vfio_fake *f = g->private_data;

	KUNIT_ASSERT_EQ(test, kt_add(t, g), 0);
	f->gone = true;
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), -EIO);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), -EIO);
	KUNIT_EXPECT_EQ(test, t->tce_attaches + t->group_gets, 0);
	f->gone = false;
	KUNIT_EXPECT_EQ(test, kt_tce(t, g, 7), 0);
	KUNIT_EXPECT_EQ(test, t->group_gets, 1);
	KUNIT_EXPECT_EQ(test, kt_del(t, g), 0);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 1);
}

/* S1, R1: release drops the references of the attached groups only. */
static void kvm_vfio_test_spapr_release(struct kunit *test)
{
	struct kvm_vfio_test *t = test->priv;
	struct file *g1 = kt_group_file(test, false);
	struct file *g2 = kt_group_file(test, false);

	KUNIT_ASSERT_EQ(test, kt_add(t, g1), 0);
	KUNIT_ASSERT_EQ(test, kt_add(t, g2), 0);
	KUNIT_EXPECT_EQ(test, kt_tce(t, g2, 7), 0);
	kt_release(t);
	KUNIT_EXPECT_EQ(test, t->group_gets, 1);
	KUNIT_EXPECT_EQ(test, t->tce_releases, 1);
}
#endif /* CONFIG_SPAPR_TCE_IOMMU */

static struct kunit_case kvm_vfio_test_cases[] = {
	KUNIT_CASE(kvm_vfio_test_create),
	KUNIT_CASE(kvm_vfio_test_create_twice),
	KUNIT_CASE(kvm_vfio_test_create_after_release),
	KUNIT_CASE(kvm_vfio_test_create_other_type),
	KUNIT_CASE(kvm_vfio_test_unregister_not_owner),
	KUNIT_CASE(kvm_vfio_test_create_nomem),
	KUNIT_CASE(kvm_vfio_test_add),
	KUNIT_CASE(kvm_vfio_test_add_duplicate),
	KUNIT_CASE(kvm_vfio_test_add_duplicate_nomem),
	KUNIT_CASE(kvm_vfio_test_add_two_files),
	KUNIT_CASE(kvm_vfio_test_add_not_vfio),
	KUNIT_CASE(kvm_vfio_test_vfio_absent),
	KUNIT_CASE(kvm_vfio_test_add_nomem),
	KUNIT_CASE(kvm_vfio_test_del),
	KUNIT_CASE(kvm_vfio_test_del_untracked),
	KUNIT_CASE(kvm_vfio_test_del_twice_readd),
	KUNIT_CASE(kvm_vfio_test_group_and_device),
	KUNIT_CASE(kvm_vfio_test_coherency_register_once),
	KUNIT_CASE(kvm_vfio_test_coherency_coherent),
	KUNIT_CASE(kvm_vfio_test_coherency_mixed),
	KUNIT_CASE(kvm_vfio_test_coherency_group_changes),
	KUNIT_CASE(kvm_vfio_test_coherency_device_decides),
	KUNIT_CASE(kvm_vfio_test_coherency_every_group),
#ifdef CONFIG_KVM_VFIO_DEBUG_COHERENCY
	KUNIT_CASE(kvm_vfio_test_debug_coherency),
	KUNIT_CASE(kvm_vfio_test_debug_coherency_batches),
#endif
	KUNIT_CASE(kvm_vfio_test_hooks_held),
	KUNIT_CASE(kvm_vfio_test_assignment_balance),
	KUNIT_CASE(kvm_vfio_test_release_many),
	KUNIT_CASE(kvm_vfio_test_release_empty),
	KUNIT_CASE(kvm_vfio_test_set_attr_enxio),
	KUNIT_CASE(kvm_vfio_test_set_attr_efault),
	KUNIT_CASE(kvm_vfio_test_set_attr_ebadf),
	KUNIT_CASE(kvm_vfio_test_has_attr),
	KUNIT_CASE(kvm_vfio_test_lookup_after_del),
	KUNIT_CASE(kvm_vfio_test_concurrent_coherency),
#ifdef CONFIG_SPAPR_TCE_IOMMU
	KUNIT_CASE(kvm_vfio_test_spapr_attach_once),
	KUNIT_CASE(kvm_vfio_test_spapr_errors),
	KUNIT_CASE(kvm_vfio_test_spapr_set_attr),
	KUNIT_CASE(kvm_vfio_test_spapr_del_without_table),
	KUNIT_CASE(kvm_vfio_test_spapr_group_gone),
	KUNIT_CASE(kvm_vfio_test_spapr_release),
#endif
	KUNIT_CASE_SLOW(kvm_vfio_test_many_random),
	{}
};

static struct kunit_suite kvm_vfio_test_suite = {
	.name = "kvm-vfio",
	.init = kvm_vfio_test_init,
	.exit = kvm_vfio_test_exit,
	.test_cases = kvm_vfio_test_cases,
};

kunit_test_suite(kvm_vfio_test_suite);
