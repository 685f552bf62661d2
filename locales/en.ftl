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
