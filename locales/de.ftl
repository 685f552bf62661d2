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

profile-link = Ihr Profil
profile-title = Ihr Profil und Ihre Sicherheit
profile-details = Über Sie
profile-email = Sie melden sich als { $email } an.
profile-language = Sprache
profile-time-zone = Zeitzone
profile-time-zone-hint = Daten und Uhrzeiten werden darin angezeigt, zum Beispiel Europe/Zurich oder UTC.
profile-notifications = Benachrichtigen Sie mich über
profile-notify-invoices = Neue und bezahlte Rechnungen
profile-notify-documents = Neue Dokumente
profile-notify-tickets = Antworten und Änderungen zu meinen Anfragen
profile-notify-orders = Änderungen an Aufträgen und Projekten
profile-notify-tasks = Neue und erledigte Aufgaben
profile-notify-email = Auch per E-Mail, nicht nur hier
profile-save = Speichern
profile-done-saved = Ihr Profil ist gespeichert.
profile-done-confirmed = Passwort bestätigt. In den nächsten 10 Minuten können Sie Passwort, zweiten Faktor und API-Tokens ändern.
profile-done-password = Ihr Passwort ist geändert. Ihre anderen Sitzungen sind beendet.
profile-done-mfa-on = Authenticator-App eingerichtet: Ab jetzt fragt die Anmeldung nach einem Code.
profile-done-mfa-off = Die Authenticator-App ist ausgeschaltet. Die Anmeldung fragt nur nach Ihrem Passwort.
profile-done-session = Diese Sitzung ist beendet.
profile-done-token = API-Token erstellt.
profile-done-token-revoked = Das API-Token ist widerrufen und funktioniert ab sofort nicht mehr.
profile-security = Passwort und Anmeldung
profile-confirm-intro = Um Passwort, zweiten Faktor oder API-Tokens zu ändern, bestätigen Sie zuerst Ihr Passwort.
profile-confirm = Passwort bestätigen
profile-confirmed = Passwort bestätigt: Änderungen sind 10 Minuten lang möglich.
profile-confirm-first = Bestätigen Sie zuerst Ihr Passwort: Diese Änderungen brauchen es aus den letzten 10 Minuten.
profile-confirm-failed = Das hat nicht geklappt. Prüfen Sie Ihr Passwort und, falls gefragt, den Code und versuchen Sie es erneut.
profile-scoped = Sie haben sich über die Anmeldung Ihrer Organisation angemeldet, die nur dieses Konto erreicht. Ändern Sie Passwort und zweiten Faktor dort.
profile-password = Passwort ändern
profile-current-password = Aktuelles Passwort
profile-keep-tokens = Meine API-Tokens weiter gültig lassen
profile-change-password = Passwort ändern
profile-sessions = Wo Sie angemeldet sind
profile-device-unknown = Unbekanntes Gerät
profile-session-this = Dieses Gerät
profile-session-seen = Zuletzt aktiv { $when }
profile-session-end = Diese Sitzung beenden
profile-tokens = API-Tokens
profile-tokens-intro = Ein Token lässt ein Programm für Sie handeln, mit den Rechten Ihrer Rolle in einem Konto. Es wird einmal angezeigt, wenn es erstellt wird.
profile-tokens-none = Sie haben keine API-Tokens.
profile-token-expires = Läuft ab am { $date }
profile-token-never-used = Nie benutzt
profile-token-revoke = { $name } widerrufen
profile-token-new = Token erstellen
profile-token-name = Wofür es ist
profile-token-account = Konto
profile-token-staff = Mitarbeiterrechte (kein Konto)
profile-token-days = Tage bis zum Ablauf (1 bis 365)
profile-token-make = Token erstellen
profile-token-made = Token { $name } erstellt
profile-token-once = Kopieren Sie es jetzt: Es wird nicht noch einmal angezeigt. Senden Sie es als „Authorization: Bearer“ gefolgt vom Token.
profile-token-value = Token
mfa-title = Authenticator-App
mfa-on = Eingeschaltet: Die Anmeldung fragt nach einem Code aus Ihrer Authenticator-App.
mfa-off = Ausgeschaltet. Mit einer Authenticator-App fragt die Anmeldung zusätzlich nach einem Code von Ihrem Telefon.
mfa-set-up = Authenticator-App einrichten
mfa-step-scan = Scannen Sie diesen Code mit Ihrer Authenticator-App oder tippen Sie den Schlüssel unten ein.
mfa-step-code = Geben Sie den sechsstelligen Code ein, den die App anzeigt.
mfa-qr-label = QR-Code für Ihre Authenticator-App
mfa-secret = Schlüssel:
mfa-confirm = Einschalten
mfa-cancel = Nicht jetzt
mfa-off-code = Ein Code aus Ihrer Authenticator-App oder ein Wiederherstellungscode
mfa-turn-off = Ausschalten
mfa-recovery-title = Ihre Wiederherstellungscodes
mfa-recovery-intro = Jeder Code funktioniert einmal anstelle des App-Codes, falls Sie Ihr Telefon verlieren. Bewahren Sie sie sicher auf: Sie werden nicht noch einmal angezeigt.

bell-none = Benachrichtigungen
bell-unread = { $count ->
    [one] 1 ungelesene Benachrichtigung
   *[other] { $count } ungelesene Benachrichtigungen
}
notifications-title = Benachrichtigungen
notifications-show-all = Alle zeigen
notifications-show-unread = Nur ungelesene zeigen
notifications-read-all = Alle als gelesen markieren
notifications-none = Noch nichts. Wenn sich in Ihren Konten etwas ändert, erfahren Sie es hier.
notifications-none-unread = Sie haben alles gelesen.
notifications-new = Neu
notifications-mark-read = Als gelesen markieren
notifications-older = Ältere Benachrichtigungen

forgot-link = Passwort vergessen?
forgot-title = Passwort zurücksetzen
forgot-intro = Geben Sie die Adresse ein, mit der Sie sich anmelden. Wenn sie hier ein Konto hat, senden wir ihr einen Link, um ein neues Passwort zu wählen.
forgot-send = Link senden
forgot-sent = Wenn { $email } hier ein Konto hat, ist ein Link unterwegs. Öffnen Sie ihn innerhalb einer Stunde; sehen Sie im Spam-Ordner nach, falls er nicht ankommt.
forgot-not-an-address = Geben Sie eine E-Mail-Adresse ein, etwa name@example.com.
back-to-sign-in = Zurück zur Anmeldung
reset-title = Neues Passwort wählen
reset-button = Neues Passwort speichern
reset-done = Ihr Passwort ist geändert, und alle Sitzungen sind beendet. Melden Sie sich mit dem neuen Passwort an.
link-code = Code aus dem Link
link-code-hint = Wenn Sie den Link aus der E-Mail öffnen, wird dies ausgefüllt. Sonst fügen Sie ein, was im Link auf „#token=“ folgt.
link-unknown = Dieser Link ist unbekannt, schon benutzt oder abgelaufen. Fordern Sie einen neuen an.
link-ask-again = Neuen Link anfordern
link-email-taken = Diese Adresse wurde inzwischen von jemand anderem belegt. Wenden Sie sich an Ihre Administration.
link-continue = Weiter
verify-title = E-Mail-Adresse bestätigen
verify-intro = Bestätigen Sie, dass diese Adresse Ihnen gehört.
verify-button = Meine Adresse bestätigen
verify-done = Ihre E-Mail-Adresse ist bestätigt. Vielen Dank.
email-change-title = Neue E-Mail-Adresse bestätigen
email-change-intro = Bestätigen Sie die Änderung: Ab jetzt melden Sie sich mit der neuen Adresse an.
email-change-button = Meine Adresse ändern
email-change-done = Ihre Anmeldeadresse ist geändert. Wir haben auch Ihre alte Adresse informiert.

nav-team = Team
team-title = Team
team-members = Mitglieder
team-you = Sie
team-role = Rolle
team-role-of = Rolle von { $name }
team-change-role = Rolle ändern
team-remove = { $name } entfernen
team-leave = Dieses Konto verlassen
team-invitations = Einladungen, die auf Antwort warten
team-invitations-none = Es warten keine Einladungen.
team-invitation-expires = Der Link gilt bis { $date }
team-resend = { $email } einen neuen Link senden
team-revoke = Einladung an { $email } zurückziehen
team-invite = Jemanden einladen
team-send = Einladen
team-link-made = Die Einladung für { $email } ist bereit
team-link-once = Senden Sie diesen Link weiter: Er wird einmal angezeigt und funktioniert einmal. Erneutes Senden erzeugt einen neuen.
team-link = Einladungslink
team-confirm-first = Um einen Eigentümer einzuladen, muss Ihr Passwort in den letzten 10 Minuten bestätigt worden sein: Bestätigen Sie es auf Ihrer Profilseite und versuchen Sie es erneut.
role-owner = Eigentümer
role-admin = Administrator
role-billing = Buchhaltung
role-member = Mitglied
role-viewer = Leser
role-custom = Eigene Rolle
role-partner = Partner

email-code-link = Mit einem Code per E-Mail anmelden
email-code-title = Mit einem Code per E-Mail anmelden
email-code-intro = Geben Sie die Adresse ein, mit der Sie sich anmelden. Wenn sie sich so anmelden darf, senden wir ihr einen Einmalcode: kein Passwort nötig.
email-code-send = Code per E-Mail senden
email-code-sent = Wenn { $email } sich hier mit einem Code anmelden darf, ist einer unterwegs. Sehen Sie in Ihre E-Mails.
email-code-field = Code aus der E-Mail
email-code-hint = Acht Ziffern. Er funktioniert einmal, { $minutes } Minuten lang.
email-code-wrong = Dieser Code hat nicht funktioniert: vielleicht vertippt, schon benutzt oder abgelaufen. Prüfen Sie ihn oder fordern Sie einen neuen an.
email-code-again = Neuen Code senden
email-code-password = Stattdessen mit Passwort anmelden
email-code-required = Ihr Konto meldet sich mit einem Einmalcode per E-Mail an. Nutzen Sie unten „Mit einem Code per E-Mail anmelden“.
