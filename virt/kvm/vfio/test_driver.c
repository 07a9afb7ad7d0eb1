// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VFIO bus driver for testing the KVM-VFIO device.
 *
 * The point of the KVM-VFIO device is that a VFIO driver finds the VM's kvm
 * in struct vfio_device when its open_device() runs; some drivers (vfio-ap,
 * Intel GVT-g) refuse to open without one.  This driver binds one platform
 * device, registers it with VFIO behind an emulated IOMMU (so it has a
 * group, /dev/vfio/N, and a cdev, /dev/vfio/devices/vfioN), records what
 * open_device() was given, and reports it through a test-only ioctl on the
 * device fd (test_driver.h).  The require_kvm parameter makes it refuse to
 * open without a kvm, as those drivers do.  Like vfio-ap, it takes
 * kvm->lock in open_device(), so that lockdep sees the lock order the
 * KVM-VFIO device must respect.
 *
 * It does no DMA and has no regions: nothing but what the tests observe.
 */

#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/platform_device.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "test_driver.h"

static bool require_kvm;
module_param(require_kvm, bool, 0644);
MODULE_PARM_DESC(require_kvm,
		 "Refuse open_device() without a kvm, like vfio-ap and GVT-g");

/**
 * struct kvm_vfio_test_dev - the one test device
 * @vdev:	the VFIO device
 * @lock:	protects @opens, @refused and @open_vm
 * @opens:	open_device() calls, whatever their outcome
 * @refused:	open_device() calls refused for lack of a kvm
 * @open_vm:	name of the VM the last successful open_device() was given
 */
struct kvm_vfio_test_dev {
	struct vfio_device vdev;
	struct mutex lock;	/* protects the counters and @open_vm */
	u32 opens;
	u32 refused;
	char open_vm[KVM_VFIO_TEST_VM_LEN];
};

static struct platform_device *kvm_vfio_test_pdev;

static struct kvm_vfio_test_dev *to_test_dev(struct vfio_device *vdev)
{
	return container_of(vdev, struct kvm_vfio_test_dev, vdev);
}

/*
 * Name @kvm as KVM names its debugfs folder, "<pid>-<VM fd>", so that a
 * test can tell which of its VMs the device got.  VFIO holds a reference to
 * the kvm while the device is open, which covers every caller.
 */
static void kvm_vfio_test_vm_name(struct kvm *kvm, char *buf)
{
	if (!kvm)
		buf[0] = '\0';
	else if (IS_ERR_OR_NULL(kvm->debugfs_dentry))
		strscpy(buf, "unnamed", KVM_VFIO_TEST_VM_LEN);
	else
		snprintf(buf, KVM_VFIO_TEST_VM_LEN, "%pd", kvm->debugfs_dentry);
}

static int kvm_vfio_test_init_dev(struct vfio_device *vdev)
{
	mutex_init(&to_test_dev(vdev)->lock);
	return 0;
}

static void kvm_vfio_test_release_dev(struct vfio_device *vdev)
{
	mutex_destroy(&to_test_dev(vdev)->lock);
}

/*
 * Given a kvm, take kvm->lock, as vfio-ap does to update its guest's state:
 * VFIO calls open_device() under the group's group_lock (group path) and
 * the device set's lock, so every guest that opens this device teaches
 * lockdep group_lock -> dev_set->lock -> kvm->lock.  Anything that then
 * takes one of those VFIO locks under kvm->lock, as the KVM-VFIO device's
 * release runs, closes a cycle that lockdep reports (the deadlock class
 * upstream fixed in kvm/vfio); mtty, the other driver of the tests, takes
 * no kvm lock and would hide it.
 */
static int kvm_vfio_test_open_device(struct vfio_device *vdev)
{
	struct kvm_vfio_test_dev *tdev = to_test_dev(vdev);
	struct kvm *kvm = vdev->kvm;
	int ret = 0;

	if (kvm)
		mutex_lock(&kvm->lock);
	mutex_lock(&tdev->lock);
	tdev->opens++;
	if (!kvm && READ_ONCE(require_kvm)) {
		tdev->refused++;
		ret = -EINVAL;	/* what vfio-ap returns */
	} else {
		kvm_vfio_test_vm_name(kvm, tdev->open_vm);
	}
	mutex_unlock(&tdev->lock);
	if (kvm)
		mutex_unlock(&kvm->lock);
	return ret;
}

static void kvm_vfio_test_close_device(struct vfio_device *vdev)
{
	struct kvm_vfio_test_dev *tdev = to_test_dev(vdev);

	mutex_lock(&tdev->lock);
	tdev->open_vm[0] = '\0';
	mutex_unlock(&tdev->lock);
}

static long kvm_vfio_test_ioctl(struct vfio_device *vdev, unsigned int cmd,
				unsigned long arg)
{
	struct kvm_vfio_test_dev *tdev = to_test_dev(vdev);
	struct kvm_vfio_test_state __user *ust = (void __user *)arg;
	struct kvm_vfio_test_state st = {};
	u32 argsz;

	if (cmd != KVM_VFIO_TEST_GET_STATE)
		return -ENOTTY;
	if (get_user(argsz, &ust->argsz))
		return -EFAULT;
	if (argsz < sizeof(st))
		return -EINVAL;

	st.argsz = sizeof(st);
	mutex_lock(&tdev->lock);
	st.opens = tdev->opens;
	st.refused = tdev->refused;
	memcpy(st.open_vm, tdev->open_vm, sizeof(st.open_vm));
	mutex_unlock(&tdev->lock);
	/* Set before open_device() and cleared after close_device(). */
	kvm_vfio_test_vm_name(vdev->kvm, st.cur_vm);

	return copy_to_user(ust, &st, sizeof(st)) ? -EFAULT : 0;
}

/* Nothing is ever pinned, so there is nothing to give back. */
static void kvm_vfio_test_dma_unmap(struct vfio_device *vdev, u64 iova,
				    u64 length)
{
}

static const struct vfio_device_ops kvm_vfio_test_ops = {
	.name = KVM_VFIO_TEST_NAME,
	.init = kvm_vfio_test_init_dev,
	.release = kvm_vfio_test_release_dev,
	.bind_iommufd = vfio_iommufd_emulated_bind,
	.unbind_iommufd = vfio_iommufd_emulated_unbind,
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
	.open_device = kvm_vfio_test_open_device,
	.close_device = kvm_vfio_test_close_device,
	.ioctl = kvm_vfio_test_ioctl,
	.dma_unmap = kvm_vfio_test_dma_unmap,
};

static int kvm_vfio_test_probe(struct platform_device *pdev)
{
	struct kvm_vfio_test_dev *tdev;
	int ret;

	tdev = vfio_alloc_device(kvm_vfio_test_dev, vdev, &pdev->dev,
				 &kvm_vfio_test_ops);
	if (IS_ERR(tdev))
		return PTR_ERR(tdev);

	ret = vfio_register_emulated_iommu_dev(&tdev->vdev);
	if (ret) {
		vfio_put_device(&tdev->vdev);
		return ret;
	}
	platform_set_drvdata(pdev, tdev);
	return 0;
}

/* Waits, inside VFIO, until every file of the device is closed. */
static void kvm_vfio_test_remove(struct platform_device *pdev)
{
	struct kvm_vfio_test_dev *tdev = platform_get_drvdata(pdev);

	vfio_unregister_group_dev(&tdev->vdev);
	vfio_put_device(&tdev->vdev);
}

static struct platform_driver kvm_vfio_test_driver = {
	.driver = {
		.name = KVM_VFIO_TEST_NAME,
	},
	.probe = kvm_vfio_test_probe,
	.remove = kvm_vfio_test_remove,
};

static int __init kvm_vfio_test_init(void)
{
	int ret;

	ret = platform_driver_register(&kvm_vfio_test_driver);
	if (ret)
		return ret;

	kvm_vfio_test_pdev = platform_device_register_simple(KVM_VFIO_TEST_NAME,
							     PLATFORM_DEVID_NONE,
							     NULL, 0);
	if (IS_ERR(kvm_vfio_test_pdev)) {
		platform_driver_unregister(&kvm_vfio_test_driver);
		return PTR_ERR(kvm_vfio_test_pdev);
	}
	return 0;
}

static void __exit kvm_vfio_test_exit(void)
{
	platform_device_unregister(kvm_vfio_test_pdev);
	platform_driver_unregister(&kvm_vfio_test_driver);
}

module_init(kvm_vfio_test_init);
module_exit(kvm_vfio_test_exit);
MODULE_DESCRIPTION("Test VFIO driver for the KVM-VFIO device");
MODULE_LICENSE("GPL");
