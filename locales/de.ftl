## Die Oberfläche des Kundenportals auf Deutsch. Jede Meldung hier steht auch in en.ftl.

skip-to-content = Zum Inhalt springen
nav-label = Bereiche
nav-dashboard = Übersicht
nav-invoices = Rechnungen
account-switcher = Konto
account-switch = Wechseln
sign-out = Abmelden
signed-in-as = Angemeldet als { $name }
support = Brauchen Sie Hilfe? { $contact }

sign-in-title = Anmelden
sign-in-intro = Melden Sie sich an, um Ihre Rechnungen, Dokumente und Anfragen zu sehen.
field-email = E-Mail-Adresse
field-password = Passwort
field-totp = Code aus Ihrer Authenticator-App
field-totp-hint = Sechs Ziffern. Oder geben Sie stattdessen einen Ihrer Wiederherstellungscodes ein.
field-recovery-code = Wiederherstellungscode
sign-in-button = Anmelden
sign-in-failed = E-Mail-Adresse oder Passwort stimmen nicht. Prüfen Sie beides und versuchen Sie es erneut.
sign-in-code-needed = Geben Sie den Code aus Ihrer Authenticator-App ein, um die Anmeldung abzuschließen.
sign-in-code-wrong = Dieser Code hat nicht funktioniert. Geben Sie den aktuellen Code oder einen Wiederherstellungscode ein.
sign-in-throttled = Zu viele Versuche. Warten Sie { $seconds } Sekunden und versuchen Sie es dann erneut.
error-summary = Es gibt ein Problem

dashboard-title = Übersicht
dashboard-welcome = Willkommen bei { $account }
dashboard-open-invoices = Offene Rechnungen
dashboard-overdue = { $amount } überfällig
dashboard-no-open-invoices = Derzeit ist nichts zu bezahlen.
dashboard-open-tickets = Offene Anfragen
dashboard-new-documents = Neue Dokumente seit Ihrem letzten Besuch
dashboard-tasks-due = Diese Woche fällige Aufgaben
dashboard-recent = Letzte Änderungen
dashboard-nothing-yet = Noch hat sich nichts geändert. Sobald { $business } Ihre Daten aktualisiert, erscheinen sie hier.
dashboard-view-invoices = Rechnungen ansehen
choose-account-title = Konto auswählen
choose-account-intro = Sie haben Zugang zu mehr als einem Konto.
no-accounts = Sie gehören noch keinem Konto an. Fragen Sie die Person, die Sie eingeladen hat.

invoices-title = Rechnungen
invoices-filter-status = Status
invoices-filter-all = Alle
invoices-filter-search = Nummer enthält
invoices-filter-apply = Rechnungen anzeigen
invoices-empty = Noch keine Rechnungen. Sobald { $business } Ihnen etwas in Rechnung stellt, erscheint es hier.
invoices-empty-filtered = Keine Rechnung passt. Versuchen Sie einen anderen Status oder eine andere Nummer.
invoices-next-page = Ältere Rechnungen
col-number = Nummer
col-status = Status
col-issued = Ausgestellt
col-due = Fällig
col-amount = Betrag
invoice-title = Rechnung { $number }
invoice-lines = Positionen
invoice-line-description = Beschreibung
invoice-line-quantity = Menge
invoice-total = Summe
invoice-amount-due = Offener Betrag
invoice-pay = Diese Rechnung bezahlen
invoice-pdf = PDF herunterladen
invoice-payments = Zahlungen
invoice-no-payments = Noch keine Zahlungen.
invoice-back = Alle Rechnungen

status-open = Offen
status-paid = Bezahlt
status-draft = Entwurf
status-void = Storniert
status-uncollectible = Uneinbringlich
status-overdue = Überfällig
pending = Ausstehend

freshness = Aktualisiert { $when } aus { $source }
just-now = gerade eben
minutes-ago = { $count ->
    [one] vor { $count } Minute
   *[other] vor { $count } Minuten
}
hours-ago = { $count ->
    [one] vor { $count } Stunde
   *[other] vor { $count } Stunden
}
yesterday = gestern
live-updated = Diese Seite wurde aktualisiert.

error-title-403 = Sie können diese Seite nicht öffnen
error-body-403 = Ihre Rolle in diesem Konto umfasst sie nicht. Wenden Sie sich an eine Inhaberin oder einen Inhaber des Kontos, wenn Sie sie brauchen.
error-title-404 = Seite nicht gefunden
error-body-404 = Hier gibt es nichts, oder Sie haben keinen Zugang. Prüfen Sie die Adresse oder gehen Sie zurück zu Ihrer Übersicht.
error-title-other = Etwas ist schiefgelaufen
error-body-other = Versuchen Sie es gleich noch einmal. Wenn es weiter passiert, wenden Sie sich an den Support.
error-home = Zur Übersicht

nav-documents = Dokumente
nav-tickets = Anfragen
nav-tasks = Aufgaben
col-subject = Betreff
col-opened = Eröffnet
col-name = Name
col-modified = Geändert
col-size = Größe

tasks-title = Aufgaben
tasks-empty = Nichts zu tun. Wenn { $business } etwas von Ihnen braucht, erscheint es hier.
tasks-show-all = Auch erledigte Aufgaben zeigen
tasks-show-open = Nur offene Aufgaben zeigen
task-due = Fällig am { $date }
task-complete = „{ $task }“ als erledigt markieren

tickets-title = Anfragen
tickets-empty = Noch keine Anfragen. Stellen Sie eine Frage oder melden Sie ein Problem und verfolgen Sie die Antworten hier.
tickets-back = Alle Anfragen
ticket-new = Neue Anfrage
ticket-send = Anfrage senden
ticket-messages = Nachrichten
ticket-no-messages = Noch keine Nachrichten.
ticket-comment-label = Nachricht hinzufügen
ticket-comment-send = Nachricht senden
ticket-close = Diese Anfrage schließen
field-subject = Betreff
field-description = Beschreibung
field-description-hint = Was ist passiert, und was brauchen Sie? Optional.
field-priority = Priorität
priority-low = Niedrig
priority-medium = Mittel
priority-high = Hoch
priority-urgent = Dringend

documents-title = Dokumente
documents-upload = Ein Dokument hochladen
documents-file = Datei
documents-limits = Bis zu { $limit }. Erlaubte Typen:
documents-upload-button = Hochladen
documents-folder = Ordner
documents-all-folders = Alle Ordner
documents-search = Name enthält
documents-filter-apply = Dokumente anzeigen
documents-empty = Noch keine Dokumente. Dateien, die { $business } mit Ihnen teilt, erscheinen hier.
documents-empty-filtered = Kein Dokument passt. Versuchen Sie einen anderen Ordner oder Namen.

status-completed = Erledigt
status-closed = Geschlossen
status-new = Neu
status-pending = Ausstehend
status-active = Aktiv

invitation-title = Einladung annehmen
invitation-intro = { $business } hat Sie in sein Kundenportal eingeladen. Wählen Sie Ihren Namen und ein Passwort, um zu beginnen.
invitation-code = Einladungscode
invitation-code-hint = Der Code am Ende des Links in Ihrer Einladungs-E-Mail, nach „token=“.
invitation-accept = Annehmen und anmelden
invitation-unknown = Diese Einladung ist unbekannt, bereits verwendet oder abgelaufen. Bitten Sie die Person, die Sie eingeladen hat, um eine neue.
invitation-existing-user = Sie haben mit dieser E-Mail-Adresse bereits ein Konto. Melden Sie sich zuerst an und öffnen Sie dann den Einladungslink erneut.
field-display-name = Ihr Name
field-new-password = Passwort wählen
field-new-password-hint = Mindestens { $count } Zeichen; einige zusammenhanglose Wörter sind stark und leicht zu merken.
