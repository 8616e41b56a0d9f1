"""The system event catalog preloaded for every app (SmartAppPush's list) and Beacon's built-in
@ events. Each entry: (name, description, useful params)."""

from __future__ import annotations

from events.attributes import DATE, NUMBER, STRING

SYSTEM_CATALOG: dict[str, list[tuple[str, str, list[str]]]] = {
    "Onboarding": [
        ("onboarding_displayed", "Onboarding screen shown", ["screen_index", "variant"]),
        ("onboarding_step_completed", "User completed a step", ["step", "step_name"]),
        ("onboarding_completed", "User finished onboarding", ["duration_seconds", "steps_count"]),
        ("onboarding_skipped", "User skipped onboarding", ["skipped_at_step"]),
    ],
    "App Lifecycle": [
        ("app_opened", "App opened", ["source"]),
        ("screen_viewed", "User viewed a screen", ["screen_name", "previous_screen"]),
    ],
    "Authentication": [
        ("login_page_displayed", "Login screen shown", []),
        ("logged_in", "User authenticated", ["method"]),
        ("sign_up_started", "User initiated registration", ["method"]),
        ("sign_up_completed", "User finished registration", ["method"]),
        ("logged_out", "User signed out", []),
    ],
    "E-Commerce": [
        ("product_viewed", "Viewed product detail", ["product_id", "category", "price"]),
        (
            "product_list_viewed",
            "User browsed a product listing/category",
            ["category", "list_name", "item_count"],
        ),
        ("add_to_cart", "Item added to cart", ["product_id", "quantity", "price", "currency"]),
        ("remove_from_cart", "Item removed from cart", ["product_id"]),
        ("cart_viewed", "User opened cart", ["item_count", "cart_total"]),
        ("begin_checkout", "Started checkout", ["cart_total", "item_count", "currency"]),
        ("checkout_abandoned", "Left checkout incomplete", ["cart_total", "step"]),
        ("payment_failed", "Payment unsuccessful", ["error_code", "payment_method"]),
        (
            "purchase_completed",
            "Transaction completed",
            ["order_id", "amount", "currency", "item_count"],
        ),
        ("coupon_applied", "Discount code applied", ["coupon_code", "discount_amount"]),
        ("coupon_failed", "Coupon code was invalid or expired", ["coupon_code", "reason"]),
        ("refund_requested", "User initiated refund", ["order_id", "amount", "reason"]),
        ("order_status_viewed", "User checked order tracking", ["order_id", "status"]),
        ("wishlist_added", "Item saved to wishlist", ["product_id", "category"]),
        ("wishlist_removed", "Item removed from wishlist", ["product_id"]),
    ],
    "Search & Discovery": [
        ("search_performed", "User searched", ["query", "results_count"]),
        (
            "search_result_clicked",
            "Tapped a search result",
            ["query", "result_position", "result_id"],
        ),
        ("search_no_results", "Empty search results", ["query"]),
        ("category_browsed", "Browsed a category", ["category_name", "item_count"]),
        ("filter_applied", "Applied filters", ["filter_type", "filter_value"]),
    ],
    "Subscription & Monetization": [
        ("paywall_displayed", "Paywall shown", ["source", "variant"]),
        (
            "paywall_dismissed",
            "User closed paywall without action",
            ["source", "time_spent_seconds"],
        ),
        ("trial_started", "Free trial began", ["plan", "duration_days"]),
        ("trial_ended", "Trial expired", ["plan", "converted"]),
        ("subscription_started", "Subscription purchased", ["plan", "price", "currency", "period"]),
        ("subscription_renewed", "Subscription renewed", ["plan", "price", "period"]),
        ("subscription_cancelled", "Subscription cancelled", ["plan", "reason"]),
        ("subscription_expired", "Subscription access ended", ["plan"]),
        (
            "in_app_purchase_completed",
            "One-time IAP completed",
            ["product_id", "amount", "currency"],
        ),
        ("billing_issue_detected", "Payment method failed", ["plan", "error_code"]),
    ],
    "Push Notifications": [
        ("push_permission_granted", "User allowed push", []),
        ("push_permission_denied", "User denied push", []),
        ("push_received", "Push delivered to device", ["campaign_id", "message_id"]),
        (
            "push_opened",
            "User tapped push (with the push data's delivery_id and open token: an open)",
            ["campaign_id", "delivery_id", "token"],
        ),
        ("push_dismissed", "User dismissed push", ["campaign_id"]),
        (
            "notification_settings_changed",
            "User modified notification preferences",
            ["channel", "enabled"],
        ),
    ],
    "Content & Engagement": [
        (
            "content_viewed",
            "User consumed content",
            ["content_id", "content_type", "duration_seconds"],
        ),
        ("content_completed", "User finished content", ["content_id", "completion_percent"]),
        ("feature_used", "Engaged with a feature", ["feature_name", "screen_name"]),
        ("feature_discovered", "First time using feature", ["feature_name"]),
        ("rating_submitted", "User rated something", ["target_id", "target_type", "rating"]),
        ("review_submitted", "User wrote a review", ["target_id", "target_type", "rating"]),
        ("feedback_submitted", "In-app feedback sent", ["feedback_type", "screen_name"]),
    ],
    "User Profile & Preferences": [
        ("profile_completed", "User filled all required profile fields", []),
        ("profile_updated", "User changed profile information", ["fields_updated"]),
        ("language_changed", "User changed app language", ["from_language", "to_language"]),
        ("preferences_updated", "User changed app preferences", ["preference_key", "new_value"]),
    ],
    "Social & Virality": [
        ("content_shared", "Shared content externally", ["content_id", "share_method"]),
        ("invite_sent", "Invited someone to app", ["invite_method"]),
        ("referral_completed", "Invited user signed up", ["referrer_user_id"]),
    ],
    "Friction & Errors": [
        ("error_encountered", "User hit an error", ["error_code", "error_message", "screen_name"]),
        ("form_abandoned", "Left form incomplete", ["form_name", "abandoned_at_step"]),
        ("deep_link_failed", "Deep link failed", ["deep_link_url", "error_reason"]),
        ("permission_denied", "Denied system permission", ["permission_type"]),
    ],
}

APP_OPEN = "@APP_OPEN"
OPT_IN = "@OPT_IN"
OPT_OUT = "@OPT_OUT"
NOTIFICATION_SENT = "@NOTIFICATION_SENT"
NOTIFICATION_OPENED = "@NOTIFICATION_OPENED"
NOTIFICATION_FAILED = "@NOTIFICATION_FAILED"
PRESENCE = "@PRESENCE"
EMAIL_SENT = "@EMAIL_SENT"
EMAIL_OPENED = "@EMAIL_OPENED"
EMAIL_CLICKED = "@EMAIL_CLICKED"
EMAIL_BOUNCED = "@EMAIL_BOUNCED"
EMAIL_UNSUBSCRIBED = "@EMAIL_UNSUBSCRIBED"

# @APP_OPEN's subtype: how the session was opened (WonderPush's definitions).
APP_OPEN_DIRECT = "direct"  # by clicking a notification
APP_OPEN_INFLUENCED = "influenced"  # within INFLUENCE_WINDOW of a @NOTIFICATION_SENT
APP_OPEN_NATURAL = "natural"  # otherwise

# The built-ins a client may send itself (every other @ name is Beacon's to record): the browser
# SDK measures presence, Beacon can't. Their params are checked (events/validation.py).
CLIENT_REPORTABLE = frozenset({PRESENCE})

BUILT_IN_EVENTS: list[tuple[str, str, list[str]]] = [
    (
        APP_OPEN,
        "A new session: activity after more than 30 minutes without any, or a notification "
        "click after 15 (subtype direct, influenced or natural)",
        ["subtype", "campaign_id", "delivery_id"],
    ),
    (
        PRESENCE,
        "Time spent on a page of the site, reported by the browser SDK when the page is hidden "
        "or left, and every 5 minutes while it stays visible",
        ["start", "end", "duration"],
    ),
    (OPT_IN, "A device became push-permitted (subtype new, soft or moved)", ["subtype"]),
    (
        OPT_OUT,
        "A device stopped being push-permitted (subtype soft, moved or invalidated)",
        ["subtype"],
    ),
    (NOTIFICATION_SENT, "A push notification was sent", ["campaign_id", "delivery_id"]),
    (
        NOTIFICATION_OPENED,
        "A push notification was clicked (button_id: the action button clicked, if one was)",
        ["campaign_id", "delivery_id", "button_id"],
    ),
    (
        NOTIFICATION_FAILED,
        "A push notification could not be sent (reason: why)",
        ["campaign_id", "delivery_id", "reason"],
    ),
    (EMAIL_SENT, "An email was handed to the mail server", ["campaign_id", "delivery_id"]),
    (
        EMAIL_OPENED,
        "An email was opened (its tracking pixel loaded, or a link clicked)",
        ["campaign_id", "delivery_id"],
    ),
    (EMAIL_CLICKED, "A link in an email was clicked", ["campaign_id", "delivery_id", "url"]),
    (
        EMAIL_BOUNCED,
        "An email was refused for good (reason: the server's answer, or the ESP's report); no "
        "more emails go to the address",
        ["campaign_id", "delivery_id", "reason"],
    ),
    (
        EMAIL_UNSUBSCRIBED,
        "The contact unsubscribed from emails (subtype: link, one-click, esp or complaint)",
        ["campaign_id", "delivery_id", "subtype"],
    ),
]
BUILT_IN_CATEGORY = "Built-in"

# The types of the built-ins' params, declared on every app's event types (events/services/
# catalog.py) and used by ingest for a client-reported built-in whose attribute is not stored
# yet: @PRESENCE's start and end are dates and its duration (seconds) a number, so that segments
# can sum the time spent over a period.
BUILT_IN_ATTRIBUTES: dict[str, dict[str, str]] = {
    APP_OPEN: {"subtype": STRING, "campaign_id": NUMBER, "delivery_id": NUMBER},
    PRESENCE: {"start": DATE, "end": DATE, "duration": NUMBER},
    OPT_IN: {"subtype": STRING},
    OPT_OUT: {"subtype": STRING},
    NOTIFICATION_SENT: {"campaign_id": NUMBER, "delivery_id": NUMBER},
    NOTIFICATION_OPENED: {"campaign_id": NUMBER, "delivery_id": NUMBER, "button_id": STRING},
    NOTIFICATION_FAILED: {"campaign_id": NUMBER, "delivery_id": NUMBER, "reason": STRING},
    EMAIL_SENT: {"campaign_id": NUMBER, "delivery_id": NUMBER},
    EMAIL_OPENED: {"campaign_id": NUMBER, "delivery_id": NUMBER},
    EMAIL_CLICKED: {"campaign_id": NUMBER, "delivery_id": NUMBER, "url": STRING},
    EMAIL_BOUNCED: {"campaign_id": NUMBER, "delivery_id": NUMBER, "reason": STRING},
    EMAIL_UNSUBSCRIBED: {"campaign_id": NUMBER, "delivery_id": NUMBER, "subtype": STRING},
}
