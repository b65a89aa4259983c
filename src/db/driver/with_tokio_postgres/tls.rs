//! TLS to PostgreSQL: the URL's `sslmode`, `sslrootcert`, `sslcert` and `sslkey`, with
//! libpq's meaning, over rustls and the aws-lc-rs provider the rest of the process uses.
//!
//! tokio-postgres parses `sslmode` itself but knows only `disable`, `prefer` and `require`,
//! and none of the certificate settings; so these four settings are taken out of the URL
//! here, and the rest is left to tokio-postgres. What each mode checks:
//!
//! | `sslmode` | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers it | not checked |
//! | `require` | always | not checked; checked against `sslrootcert` when given (as libpq) |
//! | `verify-ca` | always | chain to `sslrootcert` (else Mozilla's roots); any host name |
//! | `verify-full` | always | chain, and the host name the URL connects to |
//!
//! `allow` is taken as `prefer`: it then encrypts where libpq would try the clear first,
//! and never fails where libpq would connect. `sslcert` with `sslkey` (PEM files) present a
//! client certificate, for `cert` authentication.

use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::Error;

/// The TLS stream of a connection (the same type whether or not TLS was negotiated).
pub(super) type TlsStream =
    <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream;

/// `url` without the TLS settings this module reads, and the connector they describe
/// with the `sslmode` tokio-postgres is to use.
pub(super) fn split(url: &str) -> Result<(String, SslMode, MakeRustlsConnect), Error> {
    let Some((base, query)) = url
        .split_once('?')
        .filter(|_| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    else {
        // No query, or a `key=value` string: tokio-postgres reads its own `sslmode`.
        let mode = url.parse::<tokio_postgres::Config>()?.get_ssl_mode();
        return Ok((url.to_owned(), mode, connector(&Settings::new(mode))?));
    };
    let mut settings = Settings::new(SslMode::Prefer);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || {
            percent_decode_str(value)
                .decode_utf8()
                .map(|v| v.into_owned())
                .map_err(|_| Error::Configuration(format!("{key}: not UTF-8 once decoded")))
        };
        match key {
            "sslmode" => settings.mode = Mode::parse(&value()?)?,
            "sslrootcert" => settings.root_cert = Some(value()?),
            "sslcert" => settings.cert = Some(value()?),
            "sslkey" => settings.key = Some(value()?),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let connector = connector(&settings)?;
    Ok((url, settings.mode.ssl_mode(), connector))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(value: &str) -> Result<Self, Error> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" | "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(Error::Configuration(format!(
                    "sslmode={other}: expected disable, allow, prefer, require, verify-ca or verify-full"
                )));
            }
        })
    }

    fn ssl_mode(self) -> SslMode {
        match self {
            Self::Disable => SslMode::Disable,
            Self::Prefer => SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => SslMode::Require,
        }
    }
}

struct Settings {
    mode: Mode,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

impl Settings {
    fn new(mode: SslMode) -> Self {
        Self {
            mode: match mode {
                SslMode::Disable => Mode::Disable,
                SslMode::Require => Mode::Require,
                _ => Mode::Prefer,
            },
            root_cert: None,
            cert: None,
            key: None,
        }
    }
}

fn connector(settings: &Settings) -> Result<MakeRustlsConnect, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Configuration(format!("TLS to PostgreSQL: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match (settings.mode, &settings.root_cert) {
        (Mode::VerifyFull, root) => chain(root, &provider)?,
        (Mode::Disable | Mode::Prefer, _) | (Mode::Require, None) => Arc::new(Relaxed {
            chain: None,
            provider: provider.clone(),
        }),
        (Mode::Require | Mode::VerifyCa, root) => Arc::new(Relaxed {
            chain: Some(chain(root, &provider)?),
            provider: provider.clone(),
        }),
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&settings.cert, &settings.key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::Configuration(format!("sslcert {cert}: {e}")))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Error::Configuration(format!("sslkey {key}: {e}")))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| Error::Configuration(format!("sslcert/sslkey: {e}")))?
        }
        _ => {
            return Err(Error::Configuration(
                "sslcert and sslkey go together: give both or neither".into(),
            ));
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The standard verifier (chain, validity, host name) over the roots in `root_cert`, or
/// Mozilla's when none is given.
fn chain(
    root_cert: &Option<String>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, Error> {
    let mut roots = RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|c| c.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::Configuration(format!("sslrootcert {path}: {e}")))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::Configuration(format!(
                    "sslrootcert {path}: no certificate in it"
                )));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| Error::Configuration(format!("TLS to PostgreSQL: {e}")))
}

/// The modes short of `verify-full`: with a chain verifier (`verify-ca`, `require` with a
/// root) the chain is checked and the host name is not; without one (`prefer`, `require`
/// without a root) the server is not authenticated, libpq's meaning: encryption against a
/// passive listener. The standard verifier checks the name last, after the chain and
/// validity, so a name error means all else passed. The handshake's signature is checked
/// against the certificate presented either way, as TLS requires.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_settings_leave_the_url_and_the_rest_stays_as_written() {
        let (url, mode, _) = split(
            "postgres://u@h:5/db?application_name=a%20b&sslmode=verify-full&options=-c%20x%3Dy",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://u@h:5/db?application_name=a%20b&options=-c%20x%3Dy"
        );
        assert_eq!(mode, SslMode::Require);
        let (url, mode, _) = split("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(
            (url.as_str(), mode),
            ("postgres://u@h/db", SslMode::Disable)
        );
        let (_, mode, _) = split("postgres://u@h/db").unwrap();
        assert_eq!(mode, SslMode::Prefer);
        let (_, mode, _) = split("host=h user=u sslmode=require").unwrap();
        assert_eq!(mode, SslMode::Require);
    }

    #[test]
    fn a_bad_tls_setting_is_refused_with_what_to_write() {
        let refused = |url: &str| match split(url) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e.to_string(),
        };
        let err = refused("postgres://u@h/db?sslmode=verify");
        assert!(err.contains("verify-full"), "{err}");
        let err = refused("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem");
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        let err = refused("postgres://u@h/db?sslcert=/a.pem");
        assert!(err.contains("sslkey"), "{err}");
    }
}
