//! A real PostgreSQL server (Debian's `postgresql`) on 127.0.0.1 for the
//! data checks of the restore tests: it stands where moto says a restored
//! instance is (moto runs no database). TCP connections must use TLS
//! (`hostssl` only, SCRAM passwords), with a certificate for the names moto
//! gives RDS endpoints, signed by a CA of the kit's ([`LocalPostgres::ca_pem`]).
//! The kit itself sets up fixtures over the server's Unix socket.
//!
//! The server binaries come from `REMPART_PG_BIN` or the newest
//! `/usr/lib/postgresql/<version>/bin`. PostgreSQL refuses to run as root:
//! as root, the kit runs it as the `postgres` user (Debian's package
//! creates it).

use crate::error::KitError;
use rempart_aws::postgres::Resolver;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// The names of moto's RDS endpoints in eu-west-1
/// (`<instance>.aaaaaaaaaa.<region>.rds.amazonaws.com`).
pub const MOTO_RDS_NAMES: &str = "*.aaaaaaaaaa.eu-west-1.rds.amazonaws.com";

/// A PostgreSQL server of its own, stopped and removed on drop.
pub struct LocalPostgres {
    pub port: u16,
    pub dir: PathBuf,
    /// The CA that signed the server's certificate (PEM).
    pub ca_pem: String,
    child: Child,
}

fn bin_dir() -> Result<PathBuf, KitError> {
    if let Ok(d) = std::env::var("REMPART_PG_BIN") {
        return Ok(PathBuf::from(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            KitError::LocalStack(
                "PostgreSQL server not found: install Debian's `postgresql` (apt-get install postgresql) or set REMPART_PG_BIN".into(),
            )
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, b)| b)
        .ok_or_else(|| KitError::LocalStack("no /usr/lib/postgresql/<version>/bin/postgres".into()))
}

/// (uid, gid) to run the server as when this process is root.
fn server_user() -> Result<Option<(u32, u32)>, KitError> {
    let id = |args: &[&str]| -> Result<u32, KitError> {
        let out = Command::new("id")
            .args(args)
            .output()
            .map_err(KitError::io("running id"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                KitError::LocalStack(format!(
                    "`id {}` failed: PostgreSQL cannot run as root and needs the `postgres` user",
                    args.join(" ")
                ))
            })
    };
    if id(&["-u"])? != 0 {
        return Ok(None);
    }
    Ok(Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?)))
}

fn free_port() -> Result<u16, KitError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(KitError::io("a free port"))?;
    Ok(l.local_addr().map_err(KitError::io("a free port"))?.port())
}

fn certificates() -> Result<(String, String, String), KitError> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let err = |e: rcgen::Error| KitError::LocalStack(format!("test certificates: {e}"));
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Rempart test kit CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(err)?).map_err(err)?;
    let params = CertificateParams::new(vec![MOTO_RDS_NAMES.to_string(), "localhost".into()])
        .map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let cert = params.signed_by(&key, &ca).map_err(err)?;
    Ok((ca.pem(), cert.pem(), key.serialize_pem()))
}

impl LocalPostgres {
    /// initdb, a TLS certificate, and the server, ready to take connections.
    pub fn start() -> Result<LocalPostgres, KitError> {
        let bin = bin_dir()?;
        let user = server_user()?;
        let dir = std::env::temp_dir().join(format!(
            "rempart-pg-{}-{}",
            std::process::id(),
            free_port()?
        ));
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(KitError::io("creating the PostgreSQL dir"))?;
        let own = |p: &Path| -> Result<(), KitError> {
            if let Some((u, g)) = user {
                std::os::unix::fs::chown(p, Some(u), Some(g))
                    .map_err(KitError::io(format!("chown {}", p.display())))?;
            }
            Ok(())
        };
        own(&dir)?;
        own(&data)?;
        let run = |cmd: &mut Command| {
            if let Some((u, g)) = user {
                use std::os::unix::process::CommandExt;
                cmd.uid(u).gid(g);
            }
            cmd.env("LC_ALL", "C.UTF-8");
        };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        run(&mut initdb);
        let out = initdb.output().map_err(KitError::io("running initdb"))?;
        if !out.status.success() {
            return Err(KitError::LocalStack(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        let (ca_pem, cert, key) = certificates()?;
        let write = |name: &str, text: &str| -> Result<PathBuf, KitError> {
            let p = data.join(name);
            std::fs::write(&p, text).map_err(KitError::io(format!("writing {name}")))?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                .map_err(KitError::io(format!("chmod {name}")))?;
            own(&p)?;
            Ok(p)
        };
        write("server.crt", &cert)?;
        write("server.key", &key)?;
        // TCP only over TLS, with SCRAM passwords; the kit's own set-up
        // over the Unix socket.
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )?;
        let port = free_port()?;
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "ssl=on",
                "-c",
                "ssl_cert_file=server.crt",
                "-c",
                "ssl_key_file=server.key",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=20",
            ])
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("server.log"))
                    .map_err(KitError::io("the PostgreSQL log"))?,
            );
        run(&mut server);
        let child = server.spawn().map_err(KitError::io("starting postgres"))?;
        let pg = LocalPostgres {
            port,
            dir,
            ca_pem,
            child,
        };
        // Ready when it accepts connections (its socket appears while it
        // is still starting up).
        for _ in 0..200 {
            let ready = Command::new(bin.join("pg_isready"))
                .arg("-h")
                .arg(&pg.dir)
                .args(["-p", &port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(pg);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(KitError::LocalStack(format!(
            "postgres did not start in 10 s: {}",
            std::fs::read_to_string(pg.dir.join("server.log")).unwrap_or_default()
        )))
    }

    /// Runs `sql` (any statements) as the superuser on `database`, over the
    /// Unix socket.
    pub async fn execute(&self, database: &str, sql: &str) -> Result<(), KitError> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname(database);
        let (client, conn) = cfg
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| KitError::Setup(format!("connecting to the local PostgreSQL: {e:?}")))?;
        let task = tokio::spawn(conn);
        let res = client
            .batch_execute(sql)
            .await
            .map_err(|e| KitError::Setup(format!("fixture SQL on {database}: {e:?}")));
        drop(client);
        let _ = task.await;
        res
    }

    /// Every RDS endpoint name reaches this server.
    pub fn resolver(&self) -> Resolver {
        let port = self.port;
        Arc::new(move |host: &str, _port: u16| {
            host.ends_with(".rds.amazonaws.com")
                .then(|| SocketAddr::from(([127, 0, 0, 1], port)))
        })
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown (its children end with it).
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
