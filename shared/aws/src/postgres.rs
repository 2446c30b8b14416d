//! PostgreSQL: the restore-tester's data checks on a restored instance, with
//! the field's client (`tokio-postgres`) over TLS (rustls). Every session is
//! read-only and its statements time out.
//!
//! TLS is always on (`sslmode=require`): with a CA bundle
//! ([`Postgres::new`], `REMPART_DB_CA_FILE` on Lambda: RDS's
//! `global-bundle.pem`) the server's certificate and name are verified
//! (`verify-full`); without one the channel is encrypted but the server is
//! not authenticated, which the check's detail says.

use crate::error::{Error, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Where a host name is reached: `None` leaves it to the system's resolver.
/// The test kit sets one to reach the local PostgreSQL server that stands
/// where moto says a restored instance is.
pub type Resolver = Arc<dyn Fn(&str, u16) -> Option<SocketAddr> + Send + Sync>;

/// How long a statement may run on a restored copy.
pub const STATEMENT_TIMEOUT: &str = "60s";

/// Opens data-check sessions.
#[derive(Clone)]
pub struct Postgres {
    tls: MakeRustlsConnect,
    /// Whether the server's certificate is verified against a CA bundle.
    pub verified: bool,
    resolve: Option<Resolver>,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("verified", &self.verified)
            .field("resolver", &self.resolve.is_some())
            .finish()
    }
}

impl Postgres {
    /// TLS verified against the certificates of `ca_pem` when given;
    /// encrypted but unauthenticated otherwise.
    pub fn new(ca_pem: Option<&[u8]>) -> Result<Postgres> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS for PostgreSQL: {e}")))?;
        let config = match ca_pem {
            Some(pem) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| {
                        Error::Config(format!("the database CA bundle is not PEM: {e}"))
                    })?;
                    roots.add(cert).map_err(|e| {
                        Error::Config(format!("a certificate of the database CA bundle: {e}"))
                    })?;
                }
                if roots.is_empty() {
                    return Err(Error::Config(
                        "the database CA bundle holds no certificate".into(),
                    ));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(provider)))
                .with_no_client_auth(),
        };
        Ok(Postgres {
            tls: MakeRustlsConnect::new(config),
            verified: ca_pem.is_some(),
            resolve: None,
        })
    }

    /// From the environment: `REMPART_DB_CA_FILE`, the path of a PEM CA
    /// bundle (RDS's `global-bundle.pem`), when set.
    pub fn from_env() -> Result<Postgres> {
        match std::env::var("REMPART_DB_CA_FILE") {
            Ok(path) if !path.trim().is_empty() => {
                let pem = std::fs::read(&path).map_err(|e| Error::Io {
                    context: format!("reading REMPART_DB_CA_FILE {path}"),
                    source: e,
                })?;
                Postgres::new(Some(&pem))
            }
            _ => Postgres::new(None),
        }
    }

    /// Reach host names through `resolve` instead of the system's resolver.
    pub fn with_resolver(mut self, resolve: Resolver) -> Postgres {
        self.resolve = Some(resolve);
        self
    }

    /// A read-only session on `database` at `host:port` as `user`.
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        database: &str,
        user: &str,
        password: &str,
    ) -> Result<Session> {
        let mut cfg = tokio_postgres::Config::new();
        let resolved = self.resolve.as_ref().and_then(|r| r(host, port));
        cfg.host(host)
            .port(resolved.map_or(port, |a| a.port()))
            .dbname(database)
            .user(user)
            .password(password)
            .ssl_mode(SslMode::Require)
            .connect_timeout(Duration::from_secs(15))
            .application_name("rempart-restore-tester");
        if let Some(addr) = resolved {
            cfg.hostaddr(addr.ip());
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            cfg.hostaddr(ip);
        }
        let (client, connection) = cfg.connect(self.tls.clone()).await.map_err(sql_error)?;
        let task = tokio::spawn(async move {
            // Ends when the client is dropped (or the server goes away).
            let _ = connection.await;
        });
        let session = Session { client, task };
        session
            .client
            .batch_execute(&format!(
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; SET statement_timeout = '{STATEMENT_TIMEOUT}'"
            ))
            .await
            .map_err(sql_error)?;
        Ok(session)
    }
}

/// One connection, read-only.
pub struct Session {
    client: Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Session {
    /// Runs `sql` and returns the first column of the first row as text
    /// (`NULL` for a null; `None`: no row).
    pub async fn first_value(&self, sql: &str) -> Result<Option<String>> {
        let answer = self.client.simple_query(sql).await.map_err(sql_error)?;
        Ok(answer.iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        }))
    }
}

/// The server's own message when it gave one (`password authentication
/// failed for user "x"`, `relation "users" does not exist`), else the
/// client's with its cause (a refused connection, a TLS failure).
fn sql_error(e: tokio_postgres::Error) -> Error {
    let text = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    };
    Error::Sql(text)
}

/// TLS without authenticating the server (libpq's `sslmode=require`): the
/// handshake's signatures are still checked, the certificate's issuer and
/// name are not.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
