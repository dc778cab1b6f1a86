/* SPDX-License-Identifier: MIT */
/* IOMMU_OPTION: context-wide options here, per-object ones with the object. */
#include <errno.h>
#include <linux/capability.h>

#include "core/context.h"
#include "core/dispatch.h"
#include "ioasid/uapi/iommufd.h"
#include "ioas.h"
#include "core/ucmd.h"

static int option_rlimit_mode(struct ioasid_ucmd *u, struct iommu_option *cmd)
{
	struct ioasid_ctx *ctx = u->ctx;
	int rc = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ctx->account_mode == IOASID_ACCOUNT_MM;
		return 0;
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!ucmd_capable(u, CAP_SYS_RESOURCE))
		return -EPERM;

	/* The mode is fixed once anything exists that was charged under it. */
	pthread_mutex_lock(&ctx->lock);
	if (ctx->objects.count)
		rc = -EBUSY;
	else if (cmd->val64 == 0)
		ctx->account_mode = IOASID_ACCOUNT_USER;
	else if (cmd->val64 == 1)
		ctx->account_mode = IOASID_ACCOUNT_MM;
	else
		rc = -EINVAL;
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

long ioasid_option_ioctl(struct ioasid_ucmd *u)
{
	struct iommu_option *cmd = u->cmd;
	int rc;

	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		rc = option_rlimit_mode(u, cmd);
		break;
	case IOMMU_OPTION_HUGE_PAGES:
		rc = ioasid_ioas_option(u, cmd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (rc)
		return rc;
	/* Only the value travels back; the rest of the struct is the caller's. */
	return ucmd_write(u, u->ubuffer + offsetof(struct iommu_option, val64),
			  &cmd->val64, sizeof(cmd->val64));
}
