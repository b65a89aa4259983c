//! Mail templates: a subject, a plain-text body and an HTML body per [`Mail`].
//!
//! Every value a user supplied (a workspace's name, an inviter's name) is made one line
//! (control characters dropped, so nothing can add a header line or forge a paragraph) and,
//! in the HTML body, escaped. Links carry their token in the fragment (`#...`), which browsers
//! never send to a server, so it reaches no access log or `Referer`. Hand-written rather than a
//! template engine: three short templates, and [`escape`] is the whole of what an engine would
//! add (`docs/decisions.md`).

use super::Mail;

/// A mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// HTML-escapes `s` for element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` on one line, without control characters, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

fn page(title: &str, paragraphs: &[String], link: &str, button: &str, footer: &str) -> String {
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p style=\"margin:0 0 16px\">{p}</p>"))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;color:#1f2933;max-width:560px;margin:0 auto;padding:24px\">\
         <h1 style=\"font-size:20px\">{title}</h1>{body}\
         <p style=\"margin:24px 0\"><a href=\"{href}\" style=\"background:#2457d6;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none\">{button}</a></p>\
         <p style=\"font-size:13px;color:#52606d\">Or open this link: <a href=\"{href}\">{href}</a></p>\
         <p style=\"font-size:13px;color:#52606d\">{footer}</p></body></html>",
        title = escape(title),
        href = escape(link),
        button = escape(button),
        footer = escape(footer),
    )
}

/// Renders `mail` with links under `origin` (the server's public origin).
pub fn render(mail: &Mail, origin: &str) -> Rendered {
    let origin = origin.trim_end_matches('/');
    match mail {
        Mail::Invitation {
            workspace_name,
            workspace_slug,
            inviter_name,
            role,
            token,
            expires_at,
        } => {
            let workspace = one_line(workspace_name, 200);
            let inviter = one_line(inviter_name, 200);
            let role = one_line(role, 20);
            let link = format!("{origin}/join/{workspace_slug}#{token}");
            let expires = expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
            let title = format!("Join {workspace} on Tessera");
            let footer = format!(
                "The invitation expires on {expires}. If you did not expect it, ignore this mail."
            );
            Rendered {
                subject: title.clone(),
                text: format!(
                    "{inviter} invited you to the workspace {workspace} as {role}.\n\n\
                     Accept the invitation: {link}\n\n{footer}\n"
                ),
                html: page(
                    &title,
                    &[format!(
                        "{} invited you to the workspace <strong>{}</strong> as {}.",
                        escape(&inviter),
                        escape(&workspace),
                        escape(&role)
                    )],
                    &link,
                    "Accept the invitation",
                    &footer,
                ),
            }
        }
        Mail::VerifyEmail { token, expires_at } => {
            let link = format!("{origin}/verify-email#{token}");
            let title = "Confirm your address";
            let footer = format!(
                "The link works once, until {}. If you did not sign up, ignore this mail.",
                expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            Rendered {
                subject: "Confirm your address for Tessera".into(),
                text: format!("Confirm that this address is yours: {link}\n\n{footer}\n"),
                html: page(
                    title,
                    &["Confirm that this address is yours.".to_owned()],
                    &link,
                    "Confirm the address",
                    &footer,
                ),
            }
        }
        Mail::ResetPassword { token, expires_at } => {
            let link = format!("{origin}/reset-password#{token}");
            let title = "Reset your password";
            let footer = format!(
                "The link works once, until {}, and signs you out everywhere. If you did not ask for it, ignore this mail: your password stays as it is.",
                expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            Rendered {
                subject: "Reset your Tessera password".into(),
                text: format!("Choose a new password: {link}\n\n{footer}\n"),
                html: page(
                    title,
                    &[
                        "Someone (hopefully you) asked to reset the password of this account."
                            .to_owned(),
                    ],
                    &link,
                    "Choose a new password",
                    &footer,
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_are_escaped_and_kept_on_one_line() {
        let mail = Mail::Invitation {
            workspace_name: "<img src=x onerror=alert(1)>\r\nBcc: evil@x.test".into(),
            workspace_slug: "acme".into(),
            inviter_name: "Eve \"the\" <b>admin</b>".into(),
            role: "member".into(),
            token: "tsi_abc".into(),
            expires_at: chrono::DateTime::UNIX_EPOCH,
        };
        let r = render(&mail, "https://tessera.example/");
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
        assert!(!r.html.contains("<img"), "{}", r.html);
        assert!(!r.html.contains("<b>admin"));
        assert!(r.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(r.text.contains("https://tessera.example/join/acme#tsi_abc"));
        assert!(!r.text.contains("\r\nBcc"));
    }
}
