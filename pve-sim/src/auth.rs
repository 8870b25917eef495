//! API-token authentication and ACL privilege checks, as `pveproxy` does them.
//!
//! The client under test only ever talks to PVE with an API token, so this module
//! reproduces exactly that part of PVE: reading the `Authorization` header, the order
//! and wording of the 401 reasons, privilege separation of tokens, and the ACL walk
//! that decides every 403. The rules come from `PVE::AccessControl` (`verify_token`,
//! `split_tokenid`, `roles`, `$privgroups`), `PVE::RPCEnvironment` (`permissions`,
//! pool roles) and `PVE::APIServer::Formatter` (`extract_auth_value`). Getting them
//! subtly wrong would let the client pass tests that a real host fails, which is the one
//! thing a simulator must not do.
//!
//! Left to others: HTTP status codes, the ~3 s delay after a failed login, the
//! response bodies, and which privileges each endpoint needs (each API handler's
//! `permissions` in pve-manager, qemu-server and pve-container; see `api/`). Tickets,
//! cookies and groups are not simulated; a request without a token is `No ticket`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

/// The user PVE treats as omnipotent, whatever the ACLs say.
const ROOT_USER: &str = "root@pam";

/// The name in the `Authorization` header that introduces an API token.
const TOKEN_KEY: &str = "PVEAPIToken";

/// PVE's `verify_username` refuses longer user ids.
const MAX_USERID_LEN: usize = 64;

fn default_true() -> bool {
    true
}

/// A user account (scenario data).
///
/// Tokens belong to a user; a token never has more privileges than its user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// `user@realm`, e.g. `exporter@pve`.
    pub userid: String,
    /// A disabled user cannot authenticate, neither can any of its tokens.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Epoch seconds after which the user is expired; 0 = never.
    #[serde(default)]
    pub expire: u64,
}

/// An API token (scenario data). Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Full token id, `user@realm!tokenid`.
    pub id: String,
    /// The secret sent after the last `=` of the header value (a UUID on real hosts).
    pub secret: String,
    /// Privilege separation: `true` (PVE's default for new tokens) limits the token
    /// to the intersection of its user's privileges and the ACLs granted to the token.
    #[serde(default = "default_true")]
    pub privsep: bool,
    /// Epoch seconds after which the token is expired; 0 = never.
    #[serde(default)]
    pub expire: u64,
}

impl fmt::Debug for TokenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Scenario dumps and test failures get logged; the secret must not be.
        f.debug_struct("TokenSpec")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("privsep", &self.privsep)
            .field("expire", &self.expire)
            .finish()
    }
}

/// One ACL entry: grants roles and/or explicit privileges on a path to a user or token.
///
/// Real PVE ACL entries carry roles only; `privs` is a shorthand for an anonymous
/// custom role holding exactly those privileges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AclSpec {
    /// ACL path, e.g. `/`, `/vms/100`, `/pool/tenant-a`, `/sdn/zones/localnetwork`.
    pub path: String,
    /// A user id (`user@realm`) or a full token id (`user@realm!tokenid`).
    pub ugid: String,
    /// Role names, built-in (`PVEAuditor`, `NoAccess`, ...) only.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Explicit privilege names, e.g. `VM.Audit`.
    #[serde(default)]
    pub privs: Vec<String>,
    /// Whether the entry also applies below `path`.
    #[serde(default = "default_true")]
    pub propagate: bool,
}

/// The authenticated caller: always a token, as the simulator accepts nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    /// Full token id, `user@realm!tokenid`; PVE uses it for every ACL check and in UPIDs.
    pub token_id: String,
}

impl Identity {
    /// The owning user, `user@realm`.
    pub fn user(&self) -> &str {
        self.token_id
            .rsplit_once('!')
            .map_or(self.token_id.as_str(), |(user, _)| user)
    }

    /// The token name, the part after `!` (`""` if the id has none).
    pub fn token_name(&self) -> &str {
        self.token_id
            .rsplit_once('!')
            .map_or("", |(_, token)| token)
    }
}

/// Why authentication failed, in the order PVE checks. Each is a 401.
///
/// `Display` gives the legacy (pre-9.1.5) reason text; use [`AuthError::reason`]
/// to pick the text of a given PVE version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `PVEAPIToken` in the header (or an empty / `"0"` value, which Perl finds false).
    #[error("No ticket")]
    NoTicket,
    /// The header value has no `=` between token id and secret.
    #[error("no tokenid specified")]
    NoTokenId,
    /// The token id does not match `<user>@<realm>!<tokenid>`.
    #[error("'{0}' is not a valid token ID - not able to split into user and token parts")]
    InvalidTokenId(String),
    /// The token's user does not exist.
    #[error("no such user ('{0}')")]
    NoSuchUser(String),
    /// The token's user is disabled.
    #[error("user '{0}' is disabled")]
    UserDisabled(String),
    /// The token's user has expired (`check_user_enabled` in pve-access-control).
    #[error("user '{0}' access expired")]
    UserExpired(String),
    /// The user exists but has no such token.
    #[error("no such token '{token}' for user '{user}'")]
    NoSuchToken {
        /// Token name (the part after `!`).
        token: String,
        /// Owning user, `user@realm`.
        user: String,
    },
    /// The token has expired; holds the token name.
    #[error("token '{0}' access expired")]
    TokenExpired(String),
    /// The secret does not match.
    #[error("invalid token value!")]
    InvalidValue,
}

impl AuthError {
    /// The HTTP 401 reason phrase. `unified` = pve-manager >= 9.1.5 behaviour, which
    /// says `Authentication failed!` for everything but a missing token.
    pub fn reason(&self, unified: bool) -> String {
        match self {
            AuthError::NoTicket => self.to_string(),
            _ if unified => "Authentication failed!".to_string(),
            _ => self.to_string(),
        }
    }
}

/// The 403 reason phrase, e.g. `Permission check failed (/vms/100, VM.Audit)`;
/// several privileges are joined with `|`, as `check_any` does.
///
/// For an all-of check PVE names only the first missing privilege; get it from
/// [`AccessControl::first_missing`].
pub fn permission_denied_reason(path: &str, privs: &[&str]) -> String {
    format!("Permission check failed ({path}, {})", privs.join("|"))
}

// ---------------------------------------------------------------------------
// Privileges and built-in roles
// ---------------------------------------------------------------------------

/// One category of PVE's `$privgroups`: who may hold each privilege.
struct PrivGroup {
    /// Category name; gives the role names `PVE<name>Admin` / `PVE<name>User`.
    name: &'static str,
    /// Only in `Administrator` (and root).
    root: &'static [&'static str],
    /// In `PVE<name>Admin` and `PVEAdmin`.
    admin: &'static [&'static str],
    /// Also in `PVE<name>User`, which exists only if this list is non-empty.
    user: &'static [&'static str],
    /// Also in `PVEAuditor`.
    audit: &'static [&'static str],
}

/// The single list of known privilege names, grouped as pve-access-control's
/// `$privgroups` (PVE 9), plus [`UNGROUPED_PRIVILEGES`]. Built-in roles are derived
/// from it the way `create_roles` does, so the two cannot drift apart.
const PRIV_GROUPS: &[PrivGroup] = &[
    PrivGroup {
        name: "VM",
        root: &[],
        admin: &[
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Allocate",
            "VM.Clone",
            "VM.Migrate",
            // PVE 8 name of the monitor/agent privilege; kept so older scenarios load.
            "VM.Monitor",
            "VM.Replicate",
            "VM.Snapshot",
            "VM.Snapshot.Rollback",
            "VM.GuestAgent.FileRead",
            "VM.GuestAgent.FileWrite",
            "VM.GuestAgent.FileSystemMgmt",
            "VM.GuestAgent.Unrestricted",
        ],
        user: &[
            "VM.Config.CDROM",
            "VM.Config.Cloudinit",
            "VM.Console",
            "VM.Backup",
            "VM.PowerMgmt",
        ],
        audit: &["VM.Audit", "VM.GuestAgent.Audit"],
    },
    PrivGroup {
        name: "Sys",
        root: &[
            "Sys.PowerMgmt",
            "Sys.Modify",
            "Sys.Incoming",
            "Sys.AccessNetwork",
        ],
        admin: &["Sys.Console", "Sys.Syslog"],
        user: &[],
        audit: &["Sys.Audit"],
    },
    PrivGroup {
        name: "Datastore",
        root: &[],
        admin: &["Datastore.Allocate", "Datastore.AllocateTemplate"],
        user: &["Datastore.AllocateSpace"],
        audit: &["Datastore.Audit"],
    },
    PrivGroup {
        name: "SDN",
        root: &[],
        admin: &["SDN.Allocate", "SDN.Audit"],
        user: &["SDN.Use"],
        audit: &["SDN.Audit"],
    },
    PrivGroup {
        name: "User",
        root: &["Realm.Allocate"],
        admin: &["User.Modify", "Group.Allocate", "Realm.AllocateUser"],
        user: &[],
        audit: &[],
    },
    PrivGroup {
        name: "Pool",
        root: &[],
        admin: &["Pool.Allocate"],
        user: &["Pool.Audit"],
        audit: &["Pool.Audit"],
    },
    PrivGroup {
        name: "Mapping",
        root: &[],
        admin: &["Mapping.Modify"],
        user: &["Mapping.Use"],
        audit: &["Mapping.Audit"],
    },
];

/// Known privileges outside every group (only `Administrator` holds them).
const UNGROUPED_PRIVILEGES: &[&str] = &["Permissions.Modify"];

/// A set of privileges: bit `i` stands for `Catalog::names[i]`.
type PrivSet = u64;

/// Privilege names and built-in roles, derived once from [`PRIV_GROUPS`].
struct Catalog {
    /// Sorted, deduplicated privilege names; the index is the bit in a [`PrivSet`].
    names: Vec<&'static str>,
    /// Built-in role name to its privileges.
    roles: BTreeMap<String, PrivSet>,
    /// Every known privilege.
    all: PrivSet,
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::build)
}

impl Catalog {
    fn build() -> Catalog {
        let mut names: Vec<&'static str> = UNGROUPED_PRIVILEGES.to_vec();
        for g in PRIV_GROUPS {
            for list in [g.root, g.admin, g.user, g.audit] {
                names.extend_from_slice(list);
            }
        }
        names.sort_unstable();
        names.dedup();
        assert!(names.len() <= 64, "PrivSet is a u64: too many privileges");

        let mut cat = Catalog {
            all: if names.len() == 64 {
                u64::MAX
            } else {
                (1 << names.len()) - 1
            },
            names,
            roles: BTreeMap::new(),
        };
        // Mirrors `create_roles` in pve-access-control.
        let mut roles = BTreeMap::new();
        roles.insert("Administrator".to_string(), cat.all);
        roles.insert("NoAccess".to_string(), 0);
        for g in PRIV_GROUPS {
            let user_and_audit = cat.set(g.user) | cat.set(g.audit);
            let admin = cat.set(g.admin) | user_and_audit;
            *roles.entry(format!("PVE{}Admin", g.name)).or_insert(0) |= admin;
            *roles.entry("PVEAdmin".to_string()).or_insert(0) |= admin;
            if !g.user.is_empty() {
                *roles.entry(format!("PVE{}User", g.name)).or_insert(0) |= user_and_audit;
            }
            *roles.entry("PVEAuditor".to_string()).or_insert(0) |= cat.set(g.audit);
        }
        // PVE keeps Mapping.Modify for Administrator and PVEMappingAdmin only.
        if let Some(admin) = roles.get_mut("PVEAdmin") {
            *admin &= !cat.set(&["Mapping.Modify"]);
        }
        roles.insert(
            "PVETemplateUser".to_string(),
            cat.set(&["VM.Clone", "VM.Audit"]),
        );
        cat.roles = roles;
        cat
    }

    /// The bit of a known privilege.
    fn bit(&self, name: &str) -> Option<PrivSet> {
        self.names.binary_search(&name).ok().map(|i| 1 << i)
    }

    /// The set of the given (known) privileges; unknown names are skipped.
    fn set(&self, names: &[&str]) -> PrivSet {
        names
            .iter()
            .filter_map(|n| self.bit(n))
            .fold(0, |a, b| a | b)
    }

    /// The names of the privileges in `set`, sorted.
    fn names_of(&self, set: PrivSet) -> Vec<&'static str> {
        self.names
            .iter()
            .enumerate()
            .filter(|(i, _)| set & (1 << i) != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// A known privilege whose name differs only in case, for error hints.
    fn similar(&self, name: &str) -> Option<&'static str> {
        self.names
            .iter()
            .copied()
            .find(|n| n.eq_ignore_ascii_case(name))
    }
}

// ---------------------------------------------------------------------------
// Access control state
// ---------------------------------------------------------------------------

/// One ACL entry, resolved: roles already turned into privileges.
#[derive(Clone, Debug)]
struct Grant {
    /// User id or full token id this entry is for.
    ugid: String,
    /// Whether it also applies below its path.
    propagate: bool,
    /// The entry includes the `NoAccess` role, which wipes all other roles.
    no_access: bool,
    /// Union of the privileges of its roles and explicit privileges.
    privs: PrivSet,
}

/// Roles in effect for one user or token on one path, as privileges.
#[derive(Clone, Copy, Debug, Default)]
struct Resolved {
    no_access: bool,
    privs: PrivSet,
}

impl Resolved {
    fn privileges(self) -> PrivSet {
        if self.no_access {
            0
        } else {
            self.privs
        }
    }
}

/// Users, tokens and ACLs of one simulated cluster; answers "who is this" and
/// "may they do that". Read-only after construction; its `Debug` never shows secrets.
#[derive(Clone, Debug)]
pub struct AccessControl {
    /// By user id. Always contains `root@pam`, as PVE's user.cfg does.
    users: BTreeMap<String, UserSpec>,
    /// By full token id.
    tokens: BTreeMap<String, TokenSpec>,
    /// By normalized ACL path.
    acl: BTreeMap<String, Vec<Grant>>,
}

impl AccessControl {
    /// Validates scenario data and builds the access state.
    ///
    /// Errors name the offending entry (`users[1]`, `tokens[0]`, `acl[2]`) and what
    /// to fix: bad user or token id, a token whose user is missing, duplicates, an
    /// ACL path PVE would reject, an ACL for an unknown user/token, unknown roles or
    /// privileges. `root@pam` is added (enabled) if absent, as PVE does.
    pub fn new(
        users: Vec<UserSpec>,
        tokens: Vec<TokenSpec>,
        acl: Vec<AclSpec>,
    ) -> Result<Self, String> {
        let cat = catalog();

        let mut user_map = BTreeMap::new();
        for (i, u) in users.into_iter().enumerate() {
            if let Err(why) = check_userid(&u.userid) {
                return Err(format!("users[{i}]: userid '{}' {why}", u.userid));
            }
            if user_map.contains_key(&u.userid) {
                return Err(format!(
                    "users[{i}]: user '{}' is defined twice; remove one entry",
                    u.userid
                ));
            }
            user_map.insert(u.userid.clone(), u);
        }
        user_map
            .entry(ROOT_USER.to_string())
            .or_insert_with(|| UserSpec {
                userid: ROOT_USER.to_string(),
                enabled: true,
                expire: 0,
            });

        let mut token_map = BTreeMap::new();
        for (i, t) in tokens.into_iter().enumerate() {
            let Some((user, _)) = split_token_id(&t.id) else {
                return Err(format!(
                    "tokens[{i}]: '{}' is not a valid token ID; expected \
                     <user>@<realm>!<tokenid>, realm and tokenid being a letter followed \
                     by at least one letter, digit, '.', '-' or '_'",
                    t.id
                ));
            };
            if !user_map.contains_key(user) {
                return Err(format!(
                    "tokens[{i}]: token '{}' belongs to user '{user}', which is not in \
                     users; add the user or fix the token id",
                    t.id
                ));
            }
            if t.secret.is_empty() {
                return Err(format!(
                    "tokens[{i}]: token '{}' has an empty secret; set one (PVE uses a UUID)",
                    t.id
                ));
            }
            if token_map.contains_key(&t.id) {
                return Err(format!(
                    "tokens[{i}]: token '{}' is defined twice; remove one entry",
                    t.id
                ));
            }
            token_map.insert(t.id.clone(), t);
        }

        let mut acl_map: BTreeMap<String, Vec<Grant>> = BTreeMap::new();
        for (i, a) in acl.into_iter().enumerate() {
            let Some(path) = normalize_path(&a.path) else {
                return Err(format!(
                    "acl[{i}]: path '{}' is not a valid ACL path; use letters, digits, \
                     '.', '-', '_' and '/', e.g. '/vms/100' or '/pool/tenant-a'",
                    a.path
                ));
            };
            let at = format!("acl[{i}] ({path}, {})", a.ugid);
            if !user_map.contains_key(&a.ugid) && !token_map.contains_key(&a.ugid) {
                return Err(format!(
                    "{at}: '{}' is neither a user in users nor a token in tokens \
                     (groups are not simulated)",
                    a.ugid
                ));
            }
            if a.roles.is_empty() && a.privs.is_empty() {
                return Err(format!(
                    "{at}: the entry grants nothing; give roles or privs \
                     (role 'NoAccess' revokes access)"
                ));
            }
            let mut grant = Grant {
                ugid: a.ugid.clone(),
                propagate: a.propagate,
                no_access: false,
                privs: 0,
            };
            for role in &a.roles {
                let Some(set) = cat.roles.get(role) else {
                    let known: Vec<&str> = cat.roles.keys().map(String::as_str).collect();
                    return Err(format!(
                        "{at}: unknown role '{role}'; built-in roles are: {}",
                        known.join(", ")
                    ));
                };
                grant.privs |= set;
                grant.no_access |= role == "NoAccess";
            }
            for p in &a.privs {
                let Some(bit) = cat.bit(p) else {
                    let hint = cat
                        .similar(p)
                        .map(|s| format!("; did you mean '{s}'?"))
                        .unwrap_or_default();
                    return Err(format!("{at}: unknown privilege '{p}'{hint}"));
                };
                grant.privs |= bit;
            }
            acl_map.entry(path).or_default().push(grant);
        }

        Ok(AccessControl {
            users: user_map,
            tokens: token_map,
            acl: acl_map,
        })
    }

    /// Authenticate from the raw `Authorization` header value (`None` when absent).
    /// `now` = epoch seconds.
    ///
    /// Follows `extract_auth_value` and `verify_token`: the first
    /// `(?:^|\s)PVEAPIToken(?:=| )([^;]*)` match, percent-decoded, split on the last
    /// `=`; then user exists, is enabled, is not expired; token exists, is not
    /// expired (PVE: `expire < now`, so a token is still valid in its `expire`
    /// second); secret matches (compared in constant time).
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<Identity, AuthError> {
        let raw = authorization
            .and_then(extract_token_value)
            .ok_or(AuthError::NoTicket)?;
        let value = percent_decode_str(raw).decode_utf8_lossy();
        // pveproxy only tries the token if the value is true in Perl.
        if value.is_empty() || value == "0" {
            return Err(AuthError::NoTicket);
        }
        let (token_id, secret) = split_value(&value).ok_or(AuthError::NoTokenId)?;
        let (username, token_name) = split_token_id(token_id)
            .ok_or_else(|| AuthError::InvalidTokenId(token_id.to_string()))?;

        let user = self
            .users
            .get(username)
            .ok_or_else(|| AuthError::NoSuchUser(username.to_string()))?;
        if !user.enabled {
            return Err(AuthError::UserDisabled(username.to_string()));
        }
        if expired(user.expire, now) {
            return Err(AuthError::UserExpired(username.to_string()));
        }
        let token = self
            .tokens
            .get(token_id)
            .ok_or_else(|| AuthError::NoSuchToken {
                token: token_name.to_string(),
                user: username.to_string(),
            })?;
        if expired(token.expire, now) {
            return Err(AuthError::TokenExpired(token_name.to_string()));
        }
        if !constant_time_eq(secret.as_bytes(), token.secret.as_bytes()) {
            return Err(AuthError::InvalidValue);
        }
        Ok(Identity {
            token_id: token_id.to_string(),
        })
    }

    /// Whether `who` holds privileges on `path`. `any = true`: at least one of
    /// `privs` (PVE `check_any`; false for an empty list); `false`: all of them.
    ///
    /// `pool` is the pool of the guest (or storage) when `path` is `/vms/<vmid>`
    /// (or `/storage/<id>`); roles granted on `/pool/<name>` then add to the path's
    /// own roles, except that `NoAccess` on the guest wins over the pool and
    /// `NoAccess` on the pool wins over the guest's other roles. Unknown privilege
    /// names are never held (and trip a debug assertion: they are a typo in code).
    pub fn check(
        &self,
        who: &Identity,
        path: &str,
        privs: &[&str],
        any: bool,
        pool: Option<&str>,
    ) -> bool {
        debug_assert!(
            privs.iter().all(|p| catalog().bit(p).is_some()),
            "unknown privilege name in {privs:?}"
        );
        let held = self.held(who, path, pool);
        let has = |p: &&str| catalog().bit(p).is_some_and(|bit| held & bit != 0);
        if any {
            privs.iter().any(has)
        } else {
            privs.iter().all(has)
        }
    }

    /// Whether `who` holds at least one privilege that starts with `prefix`
    /// (e.g. `VM.Config.`) on `path`; `pool` as in [`AccessControl::check`].
    pub fn check_prefix(
        &self,
        who: &Identity,
        path: &str,
        prefix: &str,
        pool: Option<&str>,
    ) -> bool {
        let held = self.held(who, path, pool);
        let cat = catalog();
        cat.names
            .iter()
            .enumerate()
            .any(|(i, name)| name.starts_with(prefix) && held & (1 << i) != 0)
    }

    /// The first of `privs` that `who` lacks on `path`, which is the privilege PVE
    /// names in the 403 of an all-of check; `None` if all are held.
    pub fn first_missing<'a>(
        &self,
        who: &Identity,
        path: &str,
        privs: &[&'a str],
        pool: Option<&str>,
    ) -> Option<&'a str> {
        let held = self.held(who, path, pool);
        privs
            .iter()
            .copied()
            .find(|p| catalog().bit(p).is_none_or(|bit| held & bit == 0))
    }

    /// The privileges `who` holds on `path`, by name and sorted, as `GET /access/permissions`
    /// lists them; `pool` as in [`AccessControl::check`]. Empty for a path PVE would reject.
    pub fn privilege_names(
        &self,
        who: &Identity,
        path: &str,
        pool: Option<&str>,
    ) -> Vec<&'static str> {
        catalog().names_of(self.held(who, path, pool))
    }

    /// Every path that has an ACL entry, normalized and sorted.
    pub fn acl_paths(&self) -> impl Iterator<Item = &str> {
        self.acl.keys().map(String::as_str)
    }

    /// Privileges of `who` on `path` (not normalized yet).
    fn held(&self, who: &Identity, path: &str, pool: Option<&str>) -> PrivSet {
        let Some(path) = normalize_path(path) else {
            return 0;
        };
        self.privileges(&who.token_id, &path, pool)
    }

    /// `RPCEnvironment::permissions`: privileges of a user or token on a normalized path.
    fn privileges(&self, who: &str, path: &str, pool: Option<&str>) -> PrivSet {
        if who == ROOT_USER {
            return catalog().all;
        }
        if let Some((user, _)) = split_token_id(who) {
            let Some(token) = self.tokens.get(who) else {
                return 0;
            };
            let user_privs = self.privileges(user, path, pool);
            if !token.privsep {
                return user_privs;
            }
            return self.compile(who, path, pool) & user_privs;
        }
        if !self.users.contains_key(who) {
            return 0;
        }
        self.compile(who, path, pool)
    }

    /// Privileges from the ACL entries of exactly `ugid` (no user/token mixing),
    /// pool roles included (`compile_acl_path`).
    fn compile(&self, ugid: &str, path: &str, pool: Option<&str>) -> PrivSet {
        let mut roles = self.roles(ugid, path);
        if let Some(pool) = pool.filter(|_| is_pool_member_path(path)) {
            // NoAccess on the path itself must not be trumped by pool ACLs.
            if !roles.no_access {
                let pool_roles = self.roles(ugid, &format!("/pool/{pool}"));
                if pool_roles.no_access {
                    // ...but NoAccess on the pool trumps the path's other roles.
                    roles.no_access = true;
                } else {
                    roles.privs |= pool_roles.privs;
                }
            }
        }
        roles.privileges()
    }

    /// `AccessControl::roles`: walk from `/` down to `path`. At each level, the
    /// entries of `ugid` that apply there (all on the final level, only propagating
    /// ones above it) replace whatever was inherited; a level without applicable
    /// entries keeps the inherited roles.
    fn roles(&self, ugid: &str, path: &str) -> Resolved {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let mut current = Resolved::default();
        let mut level_path = String::with_capacity(path.len());
        for depth in 0..=parts.len() {
            if depth > 0 {
                level_path.push('/');
                level_path.push_str(parts[depth - 1]);
            }
            let here = if depth == 0 { "/" } else { level_path.as_str() };
            let is_final = depth == parts.len();
            let mut found: Option<Resolved> = None;
            let applicable = self
                .acl
                .get(here)
                .into_iter()
                .flatten()
                .filter(|g| g.ugid == ugid && (is_final || g.propagate));
            for grant in applicable {
                let level = found.get_or_insert_with(Resolved::default);
                level.no_access |= grant.no_access;
                level.privs |= grant.privs;
            }
            if let Some(level) = found {
                current = level;
            }
        }
        current
    }
}

// ---------------------------------------------------------------------------
// Parsing helpers
// ---------------------------------------------------------------------------

/// Perl's `\s` on a byte string.
fn is_perl_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// The capture of `(?:^|\s)PVEAPIToken(?:=| )([^;]*)`, leftmost match, undecoded.
fn extract_token_value(header: &str) -> Option<&str> {
    header.match_indices(TOKEN_KEY).find_map(|(at, _)| {
        let starts_word = header[..at].chars().next_back().is_none_or(is_perl_space);
        let rest = &header[at + TOKEN_KEY.len()..];
        let value = rest.strip_prefix('=').or_else(|| rest.strip_prefix(' '))?;
        starts_word.then(|| value.split(';').next().unwrap_or(""))
    })
}

/// `verify_token`'s `/^(.*)=(.*)$/`: split on the last `=`. As in Perl, `.` does
/// not match a newline and `$` may match before one final newline, so a value with
/// an inner newline does not split, and one trailing newline is dropped.
fn split_value(value: &str) -> Option<(&str, &str)> {
    let body = value.strip_suffix('\n').unwrap_or(value);
    if body.contains('\n') {
        return None;
    }
    body.rsplit_once('=')
}

/// `[A-Za-z][A-Za-z0-9.\-_]+`: the grammar of realms and token names.
fn is_realm_like(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `[^\s:/]+`: the grammar of the user part (it may contain `@` and `!`).
fn is_user_part(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| is_perl_space(c) || c == ':' || c == '/')
}

/// `split_tokenid`: `<user>@<realm>!<tokenid>` into (`user@realm`, `tokenid`).
///
/// Realm and token name cannot contain `@` or `!`, so the regex's backtracking
/// always ends at the last `!` and the last `@` before it.
fn split_token_id(id: &str) -> Option<(&str, &str)> {
    let (userid, token) = id.rsplit_once('!')?;
    let (user, realm) = userid.rsplit_once('@')?;
    (is_user_part(user) && is_realm_like(realm) && is_realm_like(token)).then_some((userid, token))
}

/// `verify_username`: `<user>@<realm>`, at most 64 characters.
fn check_userid(userid: &str) -> Result<(), String> {
    let len = userid.chars().count();
    if len > MAX_USERID_LEN {
        return Err(format!("is too long ({len} > {MAX_USERID_LEN})"));
    }
    match userid.rsplit_once('@') {
        Some((user, realm)) if is_user_part(user) && is_realm_like(realm) => Ok(()),
        _ => Err("is not a valid user id; expected <user>@<realm>, e.g. 'exporter@pve'".into()),
    }
}

/// `normalize_path`: collapse `//`, drop a trailing `/`, add a leading `/`;
/// `None` for characters PVE refuses in ACL paths.
fn normalize_path(path: &str) -> Option<String> {
    if path.is_empty()
        || !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
    {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    Some(format!("/{}", parts.join("/")))
}

/// Paths that inherit pool roles: a guest or a storage, `/vms/<id>` or `/storage/<id>`.
fn is_pool_member_path(path: &str) -> bool {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("vms" | "storage"), Some(_), None)
    )
}

/// PVE: `$expire && $expire < $ctime`.
fn expired(expire: u64, now: u64) -> bool {
    expire != 0 && expire < now
}

/// Compares secrets without an early exit, so timing does not reveal how much of
/// a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0b7e0a4c-3c1e-4c55-9f0e-1f2a3b4c5d6e";

    fn user(id: &str) -> UserSpec {
        UserSpec {
            userid: id.to_string(),
            enabled: true,
            expire: 0,
        }
    }

    fn token(id: &str, privsep: bool) -> TokenSpec {
        TokenSpec {
            id: id.to_string(),
            secret: SECRET.to_string(),
            privsep,
            expire: 0,
        }
    }

    fn acl(path: &str, ugid: &str, roles: &[&str], privs: &[&str], propagate: bool) -> AclSpec {
        AclSpec {
            path: path.to_string(),
            ugid: ugid.to_string(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            privs: privs.iter().map(|p| p.to_string()).collect(),
            propagate,
        }
    }

    fn id(token_id: &str) -> Identity {
        Identity {
            token_id: token_id.to_string(),
        }
    }

    fn header(token_id: &str) -> String {
        format!("PVEAPIToken={token_id}={SECRET}")
    }

    /// exporter@pve with tokens quota (privsep) and full (no privsep), plus edge users.
    fn auth_fixture() -> AccessControl {
        let mut off = user("off@pve");
        off.enabled = false;
        let mut old = user("old@pve");
        old.expire = 1_000;
        let mut expiring = token("exporter@pve!expiring", true);
        expiring.expire = 1_000;
        AccessControl::new(
            vec![user("exporter@pve"), off, old],
            vec![
                token("exporter@pve!quota", true),
                token("exporter@pve!full", false),
                token("off@pve!t1", true),
                token("old@pve!t1", true),
                expiring,
            ],
            vec![],
        )
        .unwrap()
    }

    fn auth(ac: &AccessControl, h: &str) -> Result<Identity, AuthError> {
        ac.authenticate(Some(h), 500)
    }

    // --- header -------------------------------------------------------------

    #[test]
    fn header_equals_form_authenticates() {
        let ac = auth_fixture();
        let who = auth(&ac, &header("exporter@pve!quota")).unwrap();
        assert_eq!(who.token_id, "exporter@pve!quota");
        assert_eq!(who.user(), "exporter@pve");
        assert_eq!(who.token_name(), "quota");
    }

    #[test]
    fn header_space_form_authenticates() {
        let ac = auth_fixture();
        let h = format!("PVEAPIToken exporter@pve!quota={SECRET}");
        assert_eq!(auth(&ac, &h).unwrap().token_id, "exporter@pve!quota");
    }

    #[test]
    fn header_value_is_percent_decoded() {
        let ac = auth_fixture();
        let h = format!("PVEAPIToken=exporter%40pve%21quota%3D{SECRET}");
        assert_eq!(auth(&ac, &h).unwrap().token_id, "exporter@pve!quota");
    }

    #[test]
    fn header_value_stops_at_semicolon_and_may_follow_other_parts() {
        let ac = auth_fixture();
        let h = format!("foo=bar; PVEAPIToken=exporter@pve!quota={SECRET}; other=1");
        assert_eq!(auth(&ac, &h).unwrap().token_id, "exporter@pve!quota");
        let tab = format!("x\tPVEAPIToken=exporter@pve!quota={SECRET};");
        assert!(auth(&ac, &tab).is_ok());
    }

    #[test]
    fn header_needs_whitespace_or_start_before_the_key() {
        let ac = auth_fixture();
        let glued = format!("foo;PVEAPIToken=exporter@pve!quota={SECRET}");
        assert_eq!(auth(&ac, &glued), Err(AuthError::NoTicket));
        let lower = format!("pveapitoken=exporter@pve!quota={SECRET}");
        assert_eq!(auth(&ac, &lower), Err(AuthError::NoTicket));
        let bearer = format!("Bearer exporter@pve!quota={SECRET}");
        assert_eq!(auth(&ac, &bearer), Err(AuthError::NoTicket));
    }

    #[test]
    fn a_later_match_is_used_when_the_first_occurrence_does_not_match() {
        let ac = auth_fixture();
        let h = format!("xPVEAPIToken=bogus PVEAPIToken=exporter@pve!quota={SECRET}");
        assert!(auth(&ac, &h).is_ok());
    }

    #[test]
    fn empty_or_perl_false_value_is_no_ticket() {
        let ac = auth_fixture();
        assert_eq!(auth(&ac, "PVEAPIToken="), Err(AuthError::NoTicket));
        assert_eq!(auth(&ac, "PVEAPIToken=0"), Err(AuthError::NoTicket));
        assert_eq!(auth(&ac, "PVEAPIToken=%30"), Err(AuthError::NoTicket));
        assert_eq!(ac.authenticate(None, 0), Err(AuthError::NoTicket));
    }

    #[test]
    fn value_splits_on_the_last_equals_sign() {
        let ac = auth_fixture();
        // The secret cannot contain '=': the token id swallows everything before the last one.
        let h = "PVEAPIToken=exporter@pve!quota=abc=def";
        assert_eq!(
            auth(&ac, h),
            Err(AuthError::InvalidTokenId("exporter@pve!quota=abc".into()))
        );
    }

    #[test]
    fn newlines_follow_perl_regex_rules() {
        let ac = auth_fixture();
        let trailing = format!("PVEAPIToken=exporter@pve!quota={SECRET}%0A");
        assert!(auth(&ac, &trailing).is_ok());
        let inner = format!("PVEAPIToken=exporter@pve!quota%0A={SECRET}");
        assert_eq!(auth(&ac, &inner), Err(AuthError::NoTokenId));
    }

    // --- every AuthError, both text modes -------------------------------------

    #[test]
    fn every_auth_error_and_its_reason_texts() {
        let ac = auth_fixture();
        let cases: Vec<(Option<String>, AuthError, &str)> = vec![
            (None, AuthError::NoTicket, "No ticket"),
            (
                Some("PVEAPIToken=exporter@pve!quota".into()),
                AuthError::NoTokenId,
                "no tokenid specified",
            ),
            (
                Some(header("exporter@p!quota")),
                AuthError::InvalidTokenId("exporter@p!quota".into()),
                "'exporter@p!quota' is not a valid token ID - not able to split into user and token parts",
            ),
            (
                Some(header("nobody@pve!quota")),
                AuthError::NoSuchUser("nobody@pve".into()),
                "no such user ('nobody@pve')",
            ),
            (
                Some(header("off@pve!t1")),
                AuthError::UserDisabled("off@pve".into()),
                "user 'off@pve' is disabled",
            ),
            (
                Some(header("exporter@pve!nope")),
                AuthError::NoSuchToken {
                    token: "nope".into(),
                    user: "exporter@pve".into(),
                },
                "no such token 'nope' for user 'exporter@pve'",
            ),
            (
                Some("PVEAPIToken=exporter@pve!quota=wrong".into()),
                AuthError::InvalidValue,
                "invalid token value!",
            ),
        ];
        for (h, want, legacy) in cases {
            let got = ac.authenticate(h.as_deref(), 500).unwrap_err();
            assert_eq!(got, want, "header {h:?}");
            assert_eq!(got.reason(false), legacy);
            let unified = if want == AuthError::NoTicket {
                "No ticket"
            } else {
                "Authentication failed!"
            };
            assert_eq!(got.reason(true), unified);
        }
    }

    #[test]
    fn expired_user_and_expired_token() {
        let ac = auth_fixture();
        let user_exp = ac
            .authenticate(Some(&header("old@pve!t1")), 1_001)
            .unwrap_err();
        assert_eq!(user_exp, AuthError::UserExpired("old@pve".into()));
        assert_eq!(user_exp.reason(false), "user 'old@pve' access expired");
        assert_eq!(user_exp.reason(true), "Authentication failed!");

        let h = header("exporter@pve!expiring");
        // PVE compares `expire < now`: still valid during the expire second itself.
        assert!(ac.authenticate(Some(&h), 999).is_ok());
        assert!(ac.authenticate(Some(&h), 1_000).is_ok());
        let err = ac.authenticate(Some(&h), 1_001).unwrap_err();
        assert_eq!(err, AuthError::TokenExpired("expiring".into()));
        assert_eq!(err.reason(false), "token 'expiring' access expired");
        assert_eq!(err.reason(true), "Authentication failed!");
    }

    #[test]
    fn token_id_grammar() {
        assert_eq!(split_token_id("a@pve!tok"), Some(("a@pve", "tok")));
        // The user part may itself contain '@' and '!'.
        assert_eq!(split_token_id("a@b!c@pve!tok"), Some(("a@b!c@pve", "tok")));
        assert_eq!(split_token_id("a@p!tok"), None, "realm needs 2+ chars");
        assert_eq!(split_token_id("a@pve!t"), None, "token needs 2+ chars");
        assert_eq!(
            split_token_id("a@pve!1t"),
            None,
            "token starts with a letter"
        );
        assert_eq!(
            split_token_id("a:b@pve!tok"),
            None,
            "':' not allowed in user"
        );
        assert_eq!(
            split_token_id("a b@pve!tok"),
            None,
            "space not allowed in user"
        );
        assert_eq!(split_token_id("@pve!tok"), None, "empty user");
        assert_eq!(split_token_id("a@pve"), None, "no token part");
    }

    #[test]
    fn wrong_secret_of_same_length_or_prefix_is_rejected() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    // --- roles ---------------------------------------------------------------

    fn role(name: &str) -> Vec<&'static str> {
        let cat = catalog();
        cat.names_of(cat.roles[name])
    }

    #[test]
    fn built_in_roles_match_pve() {
        assert_eq!(
            role("PVEAuditor"),
            [
                "Datastore.Audit",
                "Mapping.Audit",
                "Pool.Audit",
                "SDN.Audit",
                "Sys.Audit",
                "VM.Audit",
                "VM.GuestAgent.Audit"
            ]
        );
        assert_eq!(role("PVESDNUser"), ["SDN.Audit", "SDN.Use"]);
        assert_eq!(
            role("PVESysAdmin"),
            ["Sys.Audit", "Sys.Console", "Sys.Syslog"]
        );
        let vm_user = role("PVEVMUser");
        for p in [
            "VM.Audit",
            "VM.Console",
            "VM.PowerMgmt",
            "VM.Config.CDROM",
            "VM.Backup",
        ] {
            assert!(vm_user.contains(&p), "PVEVMUser lacks {p}");
        }
        assert!(!vm_user.contains(&"VM.Config.Network"));
        let vm_admin = role("PVEVMAdmin");
        for p in vm_user
            .iter()
            .chain(&["VM.Config.Network", "VM.Config.Options", "VM.Migrate"])
        {
            assert!(vm_admin.contains(p), "PVEVMAdmin lacks {p}");
        }
        assert!(role("NoAccess").is_empty());
        assert_eq!(role("Administrator").len(), catalog().names.len());
        assert!(!role("PVEAdmin").contains(&"Mapping.Modify"));
        assert!(!role("PVEAdmin").contains(&"Sys.Modify"));
    }

    // --- ACL evaluation -------------------------------------------------------

    const Q: &str = "exporter@pve!quota";
    const FULL: &str = "exporter@pve!full";

    fn acl_fixture(entries: Vec<AclSpec>) -> AccessControl {
        AccessControl::new(
            vec![user("exporter@pve")],
            vec![
                token(Q, true),
                token(FULL, false),
                token("root@pam!sep", true),
                token("root@pam!nosep", false),
            ],
            entries,
        )
        .unwrap()
    }

    #[test]
    fn privsep_token_gets_intersection_of_user_and_token() {
        let ac = acl_fixture(vec![
            acl("/", "exporter@pve", &["PVEVMAdmin"], &[], true),
            acl(
                "/vms",
                Q,
                &["PVEAuditor"],
                &["VM.PowerMgmt", "SDN.Use"],
                true,
            ),
        ]);
        let q = id(Q);
        assert!(ac.check(&q, "/vms/100", &["VM.Audit", "VM.PowerMgmt"], false, None));
        // user has it, token does not
        assert!(!ac.check(&q, "/vms/100", &["VM.Config.Network"], false, None));
        // token has it, user does not
        assert!(!ac.check(&q, "/vms/100", &["SDN.Use"], false, None));
        // token has nothing on / itself
        assert!(!ac.check(&q, "/", &["VM.Audit"], false, None));
    }

    #[test]
    fn non_privsep_token_has_exactly_the_user_privileges() {
        let ac = acl_fixture(vec![
            acl("/", "exporter@pve", &["PVEVMAdmin"], &[], true),
            acl("/", FULL, &["PVEAuditor"], &[], true),
        ]);
        let full = id(FULL);
        assert!(ac.check(&full, "/vms/100", &["VM.Config.Network"], false, None));
        assert!(!ac.check(&full, "/", &["Sys.Audit"], false, None));
    }

    #[test]
    fn root_token_is_still_subject_to_privsep() {
        let ac = acl_fixture(vec![acl("/", "root@pam!sep", &["PVEAuditor"], &[], true)]);
        assert!(ac.check(&id("root@pam!sep"), "/vms/1", &["VM.Audit"], false, None));
        assert!(!ac.check(
            &id("root@pam!sep"),
            "/vms/1",
            &["VM.PowerMgmt"],
            false,
            None
        ));
        assert!(ac.check(
            &id("root@pam!nosep"),
            "/",
            &["Sys.Modify", "Permissions.Modify"],
            false,
            None
        ));
    }

    #[test]
    fn unknown_token_identity_holds_nothing() {
        let ac = acl_fixture(vec![acl(
            "/",
            "exporter@pve",
            &["Administrator"],
            &[],
            true,
        )]);
        assert!(!ac.check(&id("exporter@pve!ghost"), "/", &["VM.Audit"], false, None));
    }

    #[test]
    fn propagate_false_applies_to_the_exact_path_only() {
        let ac = acl_fixture(vec![acl(
            "/vms",
            "exporter@pve",
            &["PVEAuditor"],
            &[],
            false,
        )]);
        let full = id(FULL);
        assert!(ac.check(&full, "/vms", &["VM.Audit"], false, None));
        assert!(!ac.check(&full, "/vms/100", &["VM.Audit"], false, None));
    }

    #[test]
    fn non_propagating_entry_above_does_not_cut_inheritance() {
        // PVE: a level whose entries do not apply keeps what was inherited.
        let ac = acl_fixture(vec![
            acl("/", "exporter@pve", &["Administrator"], &[], true),
            acl("/vms", "exporter@pve", &["PVEAuditor"], &[], false),
        ]);
        let full = id(FULL);
        assert!(!ac.check(&full, "/vms", &["VM.PowerMgmt"], false, None));
        assert!(ac.check(&full, "/vms/100", &["VM.PowerMgmt"], false, None));
    }

    #[test]
    fn more_specific_entry_replaces_inherited_roles() {
        let ac = acl_fixture(vec![
            acl("/", "exporter@pve", &["Administrator"], &[], true),
            acl("/vms/100", "exporter@pve", &["NoAccess"], &[], true),
            acl("/vms/101", "exporter@pve", &["PVEAuditor"], &[], true),
        ]);
        let full = id(FULL);
        assert!(!ac.check(&full, "/vms/100", &["VM.Audit"], true, None));
        assert!(ac.check(&full, "/vms/101", &["VM.Audit"], false, None));
        assert!(!ac.check(&full, "/vms/101", &["VM.PowerMgmt"], false, None));
        assert!(ac.check(&full, "/vms/102", &["VM.PowerMgmt"], false, None));
        // paths are normalized as PVE does
        assert!(!ac.check(&full, "//vms/100/", &["VM.Audit"], false, None));
    }

    #[test]
    fn no_access_wins_over_other_roles_on_the_same_level() {
        let ac = acl_fixture(vec![acl(
            "/",
            "exporter@pve",
            &["Administrator", "NoAccess"],
            &[],
            true,
        )]);
        assert!(!ac.check(&id(FULL), "/", &["VM.Audit"], false, None));
    }

    #[test]
    fn pool_acl_applies_to_member_guests() {
        let ac = acl_fixture(vec![acl(
            "/pool/tenant-a",
            "exporter@pve",
            &["PVEVMUser"],
            &[],
            true,
        )]);
        let full = id(FULL);
        assert!(ac.check(
            &full,
            "/vms/100",
            &["VM.PowerMgmt"],
            false,
            Some("tenant-a")
        ));
        assert!(!ac.check(&full, "/vms/100", &["VM.PowerMgmt"], false, None));
        assert!(!ac.check(
            &full,
            "/vms/100",
            &["VM.PowerMgmt"],
            false,
            Some("tenant-b")
        ));
        // only guest (and storage) paths inherit pool roles
        assert!(!ac.check(
            &full,
            "/nodes/pve1",
            &["VM.PowerMgmt"],
            false,
            Some("tenant-a")
        ));
    }

    #[test]
    fn pool_roles_add_to_guest_roles_and_no_access_wins() {
        let ac = acl_fixture(vec![
            acl("/pool/tenant-a", "exporter@pve", &["PVEVMUser"], &[], true),
            acl("/vms/100", "exporter@pve", &["PVEAuditor"], &[], true),
            acl("/vms/101", "exporter@pve", &["NoAccess"], &[], true),
            acl("/pool/locked", "exporter@pve", &["NoAccess"], &[], true),
        ]);
        let full = id(FULL);
        let a = Some("tenant-a");
        assert!(ac.check(&full, "/vms/100", &["VM.PowerMgmt", "Sys.Audit"], false, a));
        assert!(!ac.check(&full, "/vms/101", &["VM.Audit"], false, a));
        assert!(!ac.check(&full, "/vms/100", &["VM.Audit"], false, Some("locked")));
    }

    #[test]
    fn pool_acl_for_privsep_token_is_intersected_too() {
        let ac = acl_fixture(vec![
            acl("/pool/tenant-a", "exporter@pve", &["PVEVMUser"], &[], true),
            acl("/vms", Q, &["PVEAuditor"], &[], true),
        ]);
        let q = id(Q);
        assert!(ac.check(&q, "/vms/100", &["VM.Audit"], false, Some("tenant-a")));
        assert!(!ac.check(&q, "/vms/100", &["VM.PowerMgmt"], false, Some("tenant-a")));
    }

    #[test]
    fn any_versus_all() {
        let ac = acl_fixture(vec![acl("/", "exporter@pve", &[], &["VM.Audit"], true)]);
        let full = id(FULL);
        assert!(ac.check(&full, "/vms/1", &["VM.PowerMgmt", "VM.Audit"], true, None));
        assert!(!ac.check(&full, "/vms/1", &["VM.PowerMgmt", "VM.Audit"], false, None));
        // PVE's check_any with an empty list fails; check with an empty list passes.
        assert!(!ac.check(&full, "/vms/1", &[], true, None));
        assert!(ac.check(&full, "/vms/1", &[], false, None));
        assert_eq!(
            ac.first_missing(
                &full,
                "/vms/1",
                &["VM.Audit", "VM.PowerMgmt", "VM.Console"],
                None
            ),
            Some("VM.PowerMgmt")
        );
        assert_eq!(ac.first_missing(&full, "/vms/1", &["VM.Audit"], None), None);
    }

    #[test]
    fn check_prefix_finds_any_privilege_of_a_family() {
        let ac = acl_fixture(vec![
            acl("/vms", "exporter@pve", &["PVEVMAdmin"], &[], true),
            acl("/vms", Q, &[], &["VM.Config.Network"], true),
        ]);
        let q = id(Q);
        assert!(ac.check_prefix(&q, "/vms/100", "VM.Config.", None));
        assert!(!ac.check_prefix(&q, "/vms/100", "VM.Snapshot", None));
        assert!(!ac.check_prefix(&q, "/", "VM.Config.", None));
        assert!(!ac.check_prefix(&q, "/vms/100", "Sys.", None));
    }

    // --- construction errors ---------------------------------------------------

    fn new_err(users: Vec<UserSpec>, tokens: Vec<TokenSpec>, acl: Vec<AclSpec>) -> String {
        AccessControl::new(users, tokens, acl).unwrap_err()
    }

    #[test]
    fn new_rejects_bad_entries_and_names_them() {
        let u = || vec![user("exporter@pve")];
        let e = new_err(vec![user("nouser")], vec![], vec![]);
        assert!(
            e.starts_with("users[0]: userid 'nouser' is not a valid user id"),
            "{e}"
        );

        let e = new_err(u(), vec![token("exporter@pve!x", true)], vec![]);
        assert!(
            e.starts_with("tokens[0]: 'exporter@pve!x' is not a valid token ID"),
            "{e}"
        );

        let e = new_err(u(), vec![token("ghost@pve!tok", true)], vec![]);
        assert!(
            e.contains("tokens[0]") && e.contains("user 'ghost@pve', which is not in users"),
            "{e}"
        );

        let e = new_err(u(), vec![token(Q, true), token(Q, true)], vec![]);
        assert!(
            e.starts_with("tokens[1]: token 'exporter@pve!quota' is defined twice"),
            "{e}"
        );

        let ok = acl("/", "exporter@pve", &["PVEAuditor"], &[], true);
        let e = new_err(
            u(),
            vec![],
            vec![
                ok.clone(),
                acl("/", "exporter@pve", &["PVEAuditors"], &[], true),
            ],
        );
        assert!(
            e.starts_with("acl[1] (/, exporter@pve): unknown role 'PVEAuditors'"),
            "{e}"
        );

        let e = new_err(
            u(),
            vec![],
            vec![acl("/vms/", "exporter@pve", &[], &["vm.audit"], true)],
        );
        assert_eq!(
            e,
            "acl[0] (/vms, exporter@pve): unknown privilege 'vm.audit'; did you mean 'VM.Audit'?"
        );

        let e = new_err(
            u(),
            vec![],
            vec![acl("/", "someone@pve", &["PVEAuditor"], &[], true)],
        );
        assert!(
            e.starts_with("acl[0] (/, someone@pve): 'someone@pve' is neither a user"),
            "{e}"
        );

        let e = new_err(
            u(),
            vec![],
            vec![acl("/vms/1 0", "exporter@pve", &["PVEAuditor"], &[], true)],
        );
        assert!(
            e.starts_with("acl[0]: path '/vms/1 0' is not a valid ACL path"),
            "{e}"
        );

        let e = new_err(u(), vec![], vec![acl("/", "exporter@pve", &[], &[], true)]);
        assert!(e.contains("grants nothing"), "{e}");
    }

    #[test]
    fn root_pam_always_exists() {
        let ac = AccessControl::new(vec![], vec![token("root@pam!t1", false)], vec![]).unwrap();
        let who = ac.authenticate(Some(&header("root@pam!t1")), 0).unwrap();
        assert!(ac.check(
            &who,
            "/vms/100",
            &["VM.PowerMgmt", "Sys.Modify"],
            false,
            None
        ));
    }

    // --- serde and Debug --------------------------------------------------------

    #[test]
    fn spec_defaults_and_unknown_fields() {
        let u: UserSpec = serde_json::from_str(r#"{"userid":"a@pve"}"#).unwrap();
        assert!(u.enabled);
        assert_eq!(u.expire, 0);
        let t: TokenSpec = serde_json::from_str(r#"{"id":"a@pve!tok","secret":"s"}"#).unwrap();
        assert!(t.privsep);
        let a: AclSpec = serde_json::from_str(r#"{"path":"/","ugid":"a@pve"}"#).unwrap();
        assert!(a.propagate && a.roles.is_empty() && a.privs.is_empty());
        assert!(serde_json::from_str::<UserSpec>(r#"{"userid":"a@pve","enable":false}"#).is_err());
        assert!(
            serde_json::from_str::<TokenSpec>(r#"{"id":"a@pve!t","secret":"s","x":1}"#).is_err()
        );
    }

    #[test]
    fn debug_output_never_contains_the_secret() {
        let t = token(Q, true);
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(dbg.contains("<redacted>") && dbg.contains(Q), "{dbg}");
        let ac = acl_fixture(vec![acl("/", Q, &["PVEAuditor"], &[], true)]);
        let dbg = format!("{ac:?} {ac:#?}");
        assert!(!dbg.contains(SECRET), "{dbg}");
        assert!(dbg.contains(Q));
    }

    #[test]
    fn permission_denied_reason_format() {
        assert_eq!(
            permission_denied_reason("/vms/100", &["VM.Audit"]),
            "Permission check failed (/vms/100, VM.Audit)"
        );
        assert_eq!(
            permission_denied_reason("/vms/100", &["VM.Config.Network", "VM.Config.Options"]),
            "Permission check failed (/vms/100, VM.Config.Network|VM.Config.Options)"
        );
    }

    #[test]
    fn identity_parts() {
        let who = id("a@b@pve!tok");
        assert_eq!(who.user(), "a@b@pve");
        assert_eq!(who.token_name(), "tok");
    }
}
