from __future__ import annotations

from marshmallow import Schema, fields, validate

_required = validate.Length(min=1, max=50, error="不能为空且不超过50个字符")
_password = validate.Length(min=1, max=128, error="请输入密码")


class ChallengeRequestSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)


class ChallengeSchema(Schema):
    challenge_id = fields.String()
    nonce = fields.String()
    expires_at = fields.DateTime()


class EmployerLoginSchema(Schema):
    employer_no = fields.String(required=True, validate=_required)
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=_password)
    challenge_id = fields.String(required=True, validate=validate.Length(min=1, max=36, error="请插入UKey后重新登录"))
    certificate = fields.String(required=True, validate=validate.Length(min=1, max=8000, error="未读取到UKey证书"),
                                metadata={"multiline": True})  # PEM lines
    signature = fields.String(required=True, validate=validate.Length(min=1, max=400, error="未读取到UKey签名"))


class EmployerChoiceSchema(Schema):
    employer_no = fields.String()
    employer_name = fields.String()
    login_name = fields.String()


class LoginStageSchema(Schema):
    stage = fields.String()
    ticket = fields.String()
    message = fields.String()
    employers = fields.List(fields.Nested(EmployerChoiceSchema))


class InitialPasswordSchema(Schema):
    ticket = fields.String(required=True)
    new_password = fields.String(required=True, validate=_password)


class SelectSchema(Schema):
    ticket = fields.String(required=True)
    employer_no = fields.String(required=True, validate=_required)


class CenterLoginSchema(Schema):
    login_name = fields.String(required=True, validate=_required)
    password = fields.String(required=True, validate=_password)


class SessionSchema(Schema):
    token = fields.String()
    refresh_token = fields.String()
    expires_at = fields.Integer(metadata={"description": "the access token's expiry, epoch seconds"})
    idle_seconds = fields.Integer(metadata={"description": "the idle timeout the gateway enforces"})
    principal = fields.Dict()
    sound_enabled = fields.Boolean()
    large_text = fields.Boolean()
    closed = fields.Boolean(metadata={"description": "the employer's account is closed (零余额销户): queries only"})


class CenterLoginResultSchema(SessionSchema):
    """A session, or with the center's second factor on, the next stage: ``totp`` (enter the code) or
    ``totp_enrol`` (bind an authenticator app first) with its single-use ticket."""

    stage = fields.String()
    ticket = fields.String()
    message = fields.String()


class TicketSchema(Schema):
    ticket = fields.String(required=True, validate=validate.Length(min=1, max=2000, error="请重新登录"))


class CenterCodeSchema(TicketSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{6}$", error="请输入6位数字动态口令"))


class TotpEnrolmentSchema(Schema):
    secret = fields.String(metadata={"description": "base32, shown once for manual entry in the app"})
    otpauth_uri = fields.String(metadata={"description": "the otpauth:// URI the page shows as a QR code"})
    login_name = fields.String()
    issuer = fields.String()


class SecondFactorAccountSchema(Schema):
    login_name = fields.String()
    display_name = fields.String()
    enrolled = fields.Boolean()
    enrolled_at = fields.DateTime(allow_none=True)


class RefreshRequestSchema(Schema):
    refresh_token = fields.String(required=True,
                                  validate=validate.Length(min=1, max=200, error="登录已失效，请重新登录"))


class RefreshSchema(Schema):
    token = fields.String()
    expires_at = fields.Integer()
    principal = fields.Dict()
    refresh_token = fields.String(metadata={"description": "the next refresh token: each renewal rotates it, and "
                                                           "a replaced one presented again ends the session"})


class PublicKeySchema(Schema):
    algorithm = fields.String()
    public_key = fields.String()


class PasswordChangeSchema(Schema):
    old_password = fields.String(required=True, validate=_password)
    new_password = fields.String(required=True, validate=_password)


class SoundSchema(Schema):
    sound_enabled = fields.Boolean(required=True)


class LargeTextSchema(Schema):
    large_text = fields.Boolean(required=True)


class MessageSchema(Schema):
    message = fields.String()


class OperatorSchema(Schema):
    login_name = fields.String()
    employer_no = fields.String(allow_none=True)
    employer_name = fields.String(allow_none=True)
    display_name = fields.String()
    permissions = fields.List(fields.String())
    must_change_password = fields.Boolean()
    locked_until = fields.DateTime(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)


class PermissionsSchema(Schema):
    permissions = fields.List(fields.String(), required=True)


class ResetSchema(Schema):
    message = fields.String()
    one_time_password = fields.String()


class UKeyIssueSchema(Schema):
    token_serial = fields.String(required=True, validate=validate.Length(min=1, max=64, error="请读取UKey序列号"))
    token_label = fields.String(load_default="", validate=validate.Length(max=64))
    public_key = fields.String(required=True, validate=validate.Length(min=1, max=4000, error="未读取到UKey公钥"),
                               metadata={"multiline": True})  # PEM lines
    login_names = fields.List(fields.String(validate=_required), required=True,
                              validate=validate.Length(min=1, error="请至少绑定一个单位账号"))


class UKeySchema(Schema):
    id = fields.Integer()
    token_serial = fields.String()
    token_label = fields.String()
    certificate_serial = fields.String()
    certificate_pem = fields.String()
    not_before = fields.DateTime()
    not_after = fields.DateTime()
    status = fields.String()
    issued_by = fields.String()
    issued_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    login_names = fields.List(fields.String())


class BindingSchema(Schema):
    login_name = fields.String(required=True, validate=_required)


class ApprovalSchema(Schema):
    """A request awaiting (or past) the second account's confirmation, as the calling account sees it."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "reset_password, issue_ukey, bind_ukey or reset_totp"})
    title = fields.String()
    target = fields.String(metadata={"description": "the login name reset, or the UKey's token serial"})
    token_serial = fields.String(allow_none=True)
    login_names = fields.List(fields.String())
    requested_by = fields.String()
    requested_at = fields.DateTime()
    expires_at = fields.DateTime()
    status = fields.String(metadata={"description": "requested, confirmed, rejected, cancelled or expired"})
    decided_by = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    mine = fields.Boolean(metadata={"description": "the calling account made the request"})
    can_confirm = fields.Boolean(metadata={"description": "open, and made by another account"})
    ukey_id = fields.Integer(allow_none=True, metadata={"description": "the UKey bound, or issued once confirmed"})
    certificate_pem = fields.String(allow_none=True, metadata={
        "description": "a confirmed UKey issue's certificate, to be written to the token"})


class ApprovalListSchema(Schema):
    items = fields.List(fields.Nested(ApprovalSchema))


class ApprovalRequestedSchema(Schema):
    """The answer to a request made under dual control: nothing happened yet."""

    message = fields.String()
    approval = fields.Nested(ApprovalSchema)


class ApprovalDecisionSchema(Schema):
    message = fields.String()
    one_time_password = fields.String(metadata={
        "description": "a confirmed password reset's one-time password: in this answer only, never stored"})
    approval = fields.Nested(ApprovalSchema)


GROUP_CODE = r"^[a-z][a-z0-9_]{1,29}$"
_group_code = validate.Regexp(GROUP_CODE, error="用户组编码应为2至30位小写字母、数字或下划线，以字母开头")
_group_name = [validate.Length(min=1, max=20, error="用户组名称不能为空且不超过20个字符"),
               validate.Regexp(r".*\S", error="用户组名称不能为空")]


class GroupCreateSchema(Schema):
    code = fields.String(required=True, validate=_group_code, error_messages={"required": "请填写用户组编码"})
    name = fields.String(required=True, validate=_group_name, error_messages={"required": "请填写用户组名称"})


class GroupRenameSchema(Schema):
    name = fields.String(required=True, validate=_group_name, error_messages={"required": "请填写用户组名称"})


class GroupMembersSchema(Schema):
    members = fields.List(fields.String(validate=_required), required=True,
                          validate=validate.Length(max=500, error="成员不能超过500人"),
                          error_messages={"required": "请选择用户组成员"})


class MemberSchema(Schema):
    login_name = fields.String()
    display_name = fields.String()


class GroupSchema(Schema):
    code = fields.String()
    name = fields.String()
    members = fields.List(fields.Nested(MemberSchema))


class GroupListSchema(Schema):
    items = fields.List(fields.Nested(GroupSchema))


class CenterAccountSchema(Schema):
    login_name = fields.String()
    display_name = fields.String()
    groups = fields.List(fields.String())
    roles = fields.List(fields.String())
    permissions = fields.List(fields.String(), metadata={"description": "granted to the account itself"})
    effective = fields.List(fields.String(), metadata={"description": "its own and its roles' permissions"})


_permission_list = fields.List(fields.String(validate=validate.Length(max=30)), required=True,
                               validate=validate.Length(max=50), error_messages={"required": "请选择权限"})


class CenterPermissionsSchema(Schema):
    permissions = _permission_list


_role_name = [validate.Length(min=1, max=20, error="角色名称不能为空且不超过20个字符"),
              validate.Regexp(r".*\S", error="角色名称不能为空")]


class RoleCreateSchema(Schema):
    code = fields.String(required=True, error_messages={"required": "请填写角色编码"}, validate=validate.Regexp(
        GROUP_CODE, error="角色编码应为2至30位小写字母、数字或下划线，以字母开头"))
    name = fields.String(required=True, validate=_role_name, error_messages={"required": "请填写角色名称"})
    permissions = fields.List(fields.String(validate=validate.Length(max=30)), load_default=list,
                              validate=validate.Length(max=50))


class RoleUpdateSchema(Schema):
    name = fields.String(required=True, validate=_role_name, error_messages={"required": "请填写角色名称"})
    permissions = _permission_list


class RoleSchema(Schema):
    code = fields.String()
    name = fields.String()
    permissions = fields.List(fields.String())
    members = fields.List(fields.String())


class RoleListSchema(Schema):
    items = fields.List(fields.Nested(RoleSchema))
