## The customer portal's interface, in English. Every message here is in de.ftl too.

skip-to-content = Skip to content
nav-label = Sections
nav-dashboard = Dashboard
nav-invoices = Invoices
account-switcher = Account
account-switch = Switch
sign-out = Sign out
signed-in-as = Signed in as { $name }
support = Need help? { $contact }

sign-in-title = Sign in
sign-in-intro = Sign in to see your invoices, documents and requests.
field-email = Email address
field-password = Password
field-totp = Code from your authenticator app
field-totp-hint = Six digits. Or enter one of your recovery codes instead.
field-recovery-code = Recovery code
sign-in-button = Sign in
sign-in-failed = The email address or password is not right. Check both and try again.
sign-in-code-needed = Enter the code from your authenticator app to finish signing in.
sign-in-code-wrong = That code did not work. Enter the current code, or a recovery code.
sign-in-throttled = Too many attempts. Wait { $seconds } seconds, then try again.
error-summary = There is a problem

dashboard-title = Dashboard
dashboard-welcome = Welcome to { $account }
dashboard-open-invoices = Open invoices
dashboard-overdue = { $amount } overdue
dashboard-no-open-invoices = Nothing to pay at the moment.
dashboard-open-tickets = Open requests
dashboard-new-documents = New documents since your last visit
dashboard-tasks-due = Tasks due this week
dashboard-recent = Latest changes
dashboard-nothing-yet = Nothing has changed yet. When { $business } updates your records, they appear here.
dashboard-view-invoices = View invoices
choose-account-title = Choose an account
choose-account-intro = You have access to more than one account.
no-accounts = You are not a member of any account yet. Ask the person who invited you.

invoices-title = Invoices
invoices-filter-status = Status
invoices-filter-all = All
invoices-filter-search = Number contains
invoices-filter-apply = Show invoices
invoices-empty = No invoices yet. When { $business } bills you, they appear here.
invoices-empty-filtered = No invoices match. Try another status or number.
invoices-next-page = Older invoices
col-number = Number
col-status = Status
col-issued = Issued
col-due = Due
col-amount = Amount
invoice-title = Invoice { $number }
invoice-lines = Lines
invoice-line-description = Description
invoice-line-quantity = Quantity
invoice-total = Total
invoice-amount-due = Amount due
invoice-pay = Pay this invoice
invoice-pdf = Download PDF
invoice-payments = Payments
invoice-no-payments = No payments yet.
invoice-back = All invoices

status-open = Open
status-paid = Paid
status-draft = Draft
status-void = Void
status-uncollectible = Uncollectible
status-overdue = Overdue
pending = Pending

freshness = Updated { $when } from { $source }
just-now = just now
minutes-ago = { $count ->
    [one] { $count } minute ago
   *[other] { $count } minutes ago
}
hours-ago = { $count ->
    [one] { $count } hour ago
   *[other] { $count } hours ago
}
yesterday = yesterday
live-updated = This page was updated.

error-title-403 = You cannot open this page
error-body-403 = Your role in this account does not include it. Ask an owner of the account if you need it.
error-title-404 = Page not found
error-body-404 = There is nothing here, or you do not have access to it. Check the address, or go back to your dashboard.
error-title-other = Something went wrong
error-body-other = Try again in a moment. If it keeps happening, contact support.
error-home = Go to your dashboard

nav-documents = Documents
nav-tickets = Requests
nav-tasks = Tasks
col-subject = Subject
col-opened = Opened
col-name = Name
col-modified = Changed
col-size = Size

tasks-title = Tasks
tasks-empty = Nothing to do. When { $business } asks something of you, it appears here.
tasks-show-all = Show completed tasks too
tasks-show-open = Show open tasks only
task-due = Due { $date }
task-complete = Mark “{ $task }” as done

tickets-title = Requests
tickets-empty = No requests yet. Ask a question or report a problem, and follow the answers here.
tickets-back = All requests
ticket-new = New request
ticket-send = Send request
ticket-messages = Messages
ticket-no-messages = No messages yet.
ticket-comment-label = Add a message
ticket-comment-send = Send message
ticket-close = Close this request
field-subject = Subject
field-description = Description
field-description-hint = What happened, and what you need. Optional.
field-priority = Priority
priority-low = Low
priority-medium = Medium
priority-high = High
priority-urgent = Urgent

documents-title = Documents
documents-upload = Upload a document
documents-file = File
documents-limits = Up to { $limit }. Accepted types:
documents-upload-button = Upload
documents-folder = Folder
documents-all-folders = All folders
documents-search = Name contains
documents-filter-apply = Show documents
documents-empty = No documents yet. Files { $business } shares with you appear here.
documents-empty-filtered = No documents match. Try another folder or name.

status-completed = Completed
status-closed = Closed
status-new = New
status-pending = Pending
status-active = Active

invitation-title = Accept your invitation
invitation-intro = { $business } invited you to its customer portal. Choose your name and a password to start.
invitation-code = Invitation code
invitation-code-hint = The code at the end of the link in your invitation email, after “token=”.
invitation-accept = Accept and sign in
invitation-unknown = This invitation is unknown, already used or expired. Ask the person who invited you to send a new one.
invitation-existing-user = You already have an account with this email address. Sign in first, then open the invitation link again.
field-display-name = Your name
field-new-password = Choose a password
field-new-password-hint = At least { $count } characters; a few unrelated words are strong and easy to remember.

profile-link = Your profile
profile-title = Your profile and security
profile-details = About you
profile-email = You sign in as { $email }.
profile-language = Language
profile-time-zone = Time zone
profile-time-zone-hint = Dates and times are shown in it, for example Europe/Zurich or UTC.
profile-notifications = Tell me about
profile-notify-invoices = New and paid invoices
profile-notify-documents = New documents
profile-notify-tickets = Replies and changes to my requests
profile-notify-orders = Order and project changes
profile-notify-tasks = New and completed tasks
profile-notify-email = Also by email, not only here
profile-save = Save
profile-done-saved = Your profile is saved.
profile-done-confirmed = Password confirmed. For the next 10 minutes you can change your password, second factor and API tokens.
profile-done-password = Your password is changed. Your other sessions have ended.
profile-done-mfa-on = Authenticator app set up: from now on, signing in asks for a code.
profile-done-mfa-off = The authenticator app is turned off. Signing in asks for your password only.
profile-done-session = That session has ended.
profile-done-token = API token made.
profile-done-token-revoked = The API token is revoked: it stops working at once.
profile-security = Password and sign-in
profile-confirm-intro = To change your password, second factor or API tokens, confirm your password first.
profile-confirm = Confirm password
profile-confirmed = Password confirmed: changes are open for 10 minutes.
profile-confirm-first = Confirm your password first: these changes need it within the last 10 minutes.
profile-confirm-failed = That did not work. Check your password, and the code when one is asked, then try again.
profile-scoped = You signed in through your organisation's sign-in, which reaches this account only. Change your password and second factor there.
profile-password = Change password
profile-current-password = Current password
profile-keep-tokens = Keep my API tokens working
profile-change-password = Change password
profile-sessions = Where you are signed in
profile-device-unknown = Unknown device
profile-session-this = This device
profile-session-seen = Last active { $when }
profile-session-end = End this session
profile-tokens = API tokens
profile-tokens-intro = A token lets a program act for you, with your role's rights in one account. It is shown once, when it is made.
profile-tokens-none = You have no API tokens.
profile-token-expires = Expires { $date }
profile-token-never-used = Never used
profile-token-revoke = Revoke { $name }
profile-token-new = Make a token
profile-token-name = What it is for
profile-token-account = Account
profile-token-staff = Staff rights (no account)
profile-token-days = Days until it expires (1 to 365)
profile-token-make = Make token
profile-token-made = Token { $name } made
profile-token-once = Copy it now: it is not shown again. Send it as "Authorization: Bearer" followed by the token.
profile-token-value = Token
mfa-title = Authenticator app
mfa-on = On: signing in asks for a code from your authenticator app.
mfa-off = Off. With an authenticator app, signing in also asks for a code from your phone.
mfa-set-up = Set up an authenticator app
mfa-step-scan = Scan this code with your authenticator app, or type the key below into it.
mfa-step-code = Enter the six-digit code the app shows.
mfa-qr-label = QR code for your authenticator app
mfa-secret = Key:
mfa-confirm = Turn on
mfa-cancel = Not now
mfa-off-code = A code from your authenticator app, or a recovery code
mfa-turn-off = Turn off
mfa-recovery-title = Your recovery codes
mfa-recovery-intro = Each code works once, in place of the app's code, if you lose your phone. Keep them somewhere safe: they are not shown again.

bell-none = Notifications
bell-unread = { $count ->
    [one] 1 unread notification
   *[other] { $count } unread notifications
}
notifications-title = Notifications
notifications-show-all = Show all
notifications-show-unread = Show unread only
notifications-read-all = Mark all as read
notifications-none = Nothing yet. When something changes in your accounts, you hear about it here.
notifications-none-unread = You have read everything.
notifications-new = New
notifications-mark-read = Mark as read
notifications-older = Older notifications

forgot-link = Forgot your password?
forgot-title = Reset your password
forgot-intro = Enter the address you sign in with. If it has an account here, we send it a link to choose a new password.
forgot-send = Send the link
forgot-sent = If { $email } has an account here, a link is on its way. Open it within the hour; check your spam folder if it does not arrive.
forgot-not-an-address = Enter an email address, like name@example.com.
back-to-sign-in = Back to sign-in
reset-title = Choose a new password
reset-button = Save the new password
reset-done = Your password is changed and every session has ended. Sign in with the new password.
link-code = Code from the link
link-code-hint = Opening the link from the email fills this in. Otherwise, paste what follows "#token=" in the link.
link-unknown = This link is unknown, used or expired. Ask for a new one.
link-ask-again = Ask for a new link
link-email-taken = That address has meanwhile been taken by another person. Ask your administrator.
link-continue = Continue
verify-title = Confirm your email address
verify-intro = Confirm that this address is yours.
verify-button = Confirm my address
verify-done = Your email address is confirmed. Thank you.
email-change-title = Confirm your new email address
email-change-intro = Confirm the change: from now on you sign in with the new address.
email-change-button = Change my address
email-change-done = Your sign-in address is changed. We told your old address too.

nav-team = Team
team-title = Team
team-members = Members
team-you = You
team-role = Role
team-role-of = Role of { $name }
team-change-role = Change role
team-remove = Remove { $name }
team-leave = Leave this account
team-invitations = Invitations waiting for an answer
team-invitations-none = No invitations are waiting.
team-invitation-expires = The link works until { $date }
team-resend = Send { $email } a new link
team-revoke = Withdraw the invitation to { $email }
team-invite = Invite someone
team-send = Invite
team-link-made = The invitation for { $email } is ready
team-link-once = Send this link to them: it is shown once, and works once. Sending it again makes a new one.
team-link = Invitation link
team-confirm-first = Inviting an owner needs your password confirmed in the last 10 minutes: confirm it on your profile page, then try again.
role-owner = Owner
role-admin = Administrator
role-billing = Billing
role-member = Member
role-viewer = Viewer
role-custom = Custom role
role-partner = Partner

email-code-link = Sign in with a code sent by email
email-code-title = Sign in with a code by email
email-code-intro = Enter the address you sign in with. If it may sign in this way, we send it a one-time code: no password needed.
email-code-send = Email me a code
email-code-sent = If { $email } may sign in here with a code, one is on its way. Check your mail.
email-code-field = Code from the email
email-code-hint = Eight digits. It works once, for { $minutes } minutes.
email-code-wrong = That code did not work: it may be mistyped, used or expired. Check it, or ask for a new one.
email-code-again = Send a new code
email-code-password = Sign in with your password instead
email-code-required = Your account signs in with a one-time code sent by email. Use "Sign in with a code sent by email" below.
