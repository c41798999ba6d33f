"""The rights an account can be given.

Employer accounts: the home page's modules and queries (``PERMISSIONS``), granted per account in the
admin console; the token carries them, the gateway hides what is not granted and every service route
checks the one it needs.

Center accounts: the admin console's rights (``CENTER_PERMISSIONS``), granted per account or through
a center role (services/auth/rights.py); each center route declares the one it needs
(``hall_common.access.allow("center:<code>")``) and the console shows only what the account holds.
Approving needs none of them: membership of the task's candidate group is the right to approve.

Service tokens: what a downstream system or a service's worker may do (``SERVICE_PERMISSIONS``).
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "employer_info": "单位基本信息",
    "employer_change": "单位信息变更",
    "base_adjust": "基数调整",
    "supplement": "补缴",
    "employer_query": "单位信息查询",
    "member_register": "缴存人登记",
    "member_change": "缴存人信息变更",
    "member_query": "缴存人信息查询",
    "unseal": "启封",
    "seal": "封存",
    "closure": "零余额销户",
}
ALL_PERMISSIONS: list[str] = list(PERMISSIONS)

CENTER_PERMISSIONS: dict[str, str] = {
    "account_admin": "账号管理",  # employer operators: permissions, password reset
    "ukey_admin": "UKey管理",  # issue, bind, unbind, revoke
    "center_rights": "中心权限管理",  # center accounts' permissions and center roles
    "group_admin": "用户组",
    "process_design": "流程设计",  # validate and deploy process definitions
    "process_monitor": "流程监控",  # every instance, 转办 and 终止
    "push": "消息推送",
    "service_tokens": "服务令牌",  # list and withdraw the tokens of downstream systems
    "dead_letters": "死信事件",
    "audit": "审计日志",
    "policy": "政策参数",
    "interest": "结息管理",  # start a year's interest settlement, see its progress
}
ALL_CENTER_PERMISSIONS: list[str] = list(CENTER_PERMISSIONS)

SERVICE_PERMISSIONS: dict[str, str] = {
    "push": "推送消息",  # downstream systems
    "employer_list": "读取单位目录",  # the notify worker's broadcast
    "policy_read": "读取政策参数",  # the policy in force on a date (the money issue's interest rates)
    "receipt_post": "登记到账",  # banks and downstream systems post the money an employer paid
    # the payment service reads the monthly amounts its bills are made of, and checks its 补缴 rows' members
    "member_read": "读取缴存人",
    # 零余额销户: the employer service reads the account, the members holding money and the businesses
    # in approval (when the operator asks, and again when the approved closure is applied).
    "closure_check": "销户检查",
}
