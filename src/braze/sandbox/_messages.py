"""Every message string the sandbox can answer with, in one place.

Why one module: each string is either quoted verbatim from Braze's documentation (see
/work/shared/reference/braze-contract.md) or is a choice of ours for a case Braze leaves
UNCONFIRMED. Keeping them together makes the audit against the contract (and docs/sandbox.md)
a single read.
"""

from __future__ import annotations

# --- Documented by Braze, verbatim -------------------------------------------------------------
# errors page (S8): "400 Invalid Campaign ID", "400 No Recipients", the 50-recipient row, "403 Access Denied".
INVALID_CAMPAIGN_ID = "Invalid Campaign ID"
NO_RECIPIENTS = "No Recipients"
MAX_RECIPIENTS_EXCEEDED = "The max number of external_ids and aliases per request was exceeded"
ACCESS_DENIED = "Access Denied"
# errors page (S8): invalid JSON.
PARSE_ERROR = "Error while parsing request body. Please check your syntax."
# transactional page (S13); the only documented auth-failure *body* string.
UNAUTHORIZED = "Error authenticating credentials"
# Canvas page (S2): the 201 notices for a paused / archived Canvas.
CANVAS_PAUSED_NOTICE = "The Canvas is paused. Resume the Canvas to ensure trigger requests will take effect."
CANVAS_ARCHIVED_NOTICE = "The Canvas is archived. Unarchive the Canvas to ensure trigger requests will take effect."
# Endpoint pages (S1, S2): the identifier rule, quoted as the message for a bad recipient.
IDENTIFIER_RULE = 'Either "external_user_id" or "user_alias" or "email" is required. Requests must specify only one.'
# Observed by a third party (S27), UNCONFIRMED by Braze, but the only body anyone reports for 404.
INVALID_URL = "Invalid URL"

# --- Status reason phrases used as messages (Braze names the error after the status) ------------
UNSUPPORTED_MEDIA_TYPE = "Unsupported Media Type"
PAYLOAD_TOO_LARGE = "Payload Too Large"
RATE_LIMITED = "Rate Limited"
SERVER_ERRORS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# --- Chosen here: Braze documents the rule but not the string (UNCONFIRMED) ---------------------
INVALID_CANVAS_ID = "Invalid Canvas ID"
BROADCAST_WITH_RECIPIENTS = '"recipients" cannot be included when "broadcast" is true'
ATTACHMENTS_WITH_BROADCAST = '"attachments" cannot be included when "broadcast" is true'
USER_ALIAS_INVALID = '"user_alias" must be an object with non-empty "alias_name" and "alias_label" strings'
USER_ALIAS_TOO_LONG = '"alias_name" and "alias_label" must be 236 bytes or fewer'
EMAIL_INVALID = '"email" must be a non-empty string'
EXTERNAL_USER_ID_INVALID = '"external_user_id" must be a non-empty string'
PRIORITIZATION_REQUIRED = '"prioritization" is required when "email" is the identifier'
PRIORITIZATION_INVALID = (
    '"prioritization" must be an array of "identified" or "unidentified" (not both), '
    '"most_recently_updated", "least_recently_updated"'
)
EXISTING_ONLY_WITH_ALIAS = '"send_to_existing_only" cannot be false for a recipient with "user_alias"'
EXISTING_ONLY_NEEDS_ATTRIBUTES = '"attributes" must be included when "send_to_existing_only" is false'
SEND_ID_INVALID = '"send_id" must be 1 to 64 ASCII characters'
ATTACHMENT_INVALID = 'each attachment must be an object with non-empty "file_name" and "url" strings'
AUDIENCE_INVALID = '"audience" must be one filter or an "AND"/"OR" object of filters'
RECIPIENT_NOT_OBJECT = 'each entry of "recipients" must be an object'
BODY_FRAMING_ERROR = "Malformed request body framing"
UNSUPPORTED_TRANSFER_ENCODING = "Unsupported Transfer-Encoding"


def not_supported_on(field: str, path: str) -> str:
    return f'"{field}" is not supported by {path}'


def wrong_type(field: str, expected: str) -> str:
    return f'"{field}" must be {expected}'


def too_large(field: str) -> str:
    return f'"{field}" must be 50 KB or smaller'


def rejected_recipient(kind: str, value: str) -> str:
    # Shape of a per-recipient ("minor") error's "type": a sentence naming the problem, like
    # Braze's /users/track minor errors. The trigger endpoints' wording is UNCONFIRMED.
    return f"Recipient with {kind} '{value}' could not be resolved to a user profile"
