//! The user list (UL block): users and groups of the container image, from its `/etc/passwd`
//! and `/etc/group`.

use std::path::Path;

use blackbox_scap::{GroupInfo, UserInfo};

/// At most this many users and groups each are written (the UL is one block).
const MAX_ENTRIES: usize = 4096;
/// Files larger than this are not read.
const MAX_FILE: u64 = 4 << 20;

fn read_small(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE {
        return None;
    }
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Parses `/etc/passwd` lines (`name:x:uid:gid:gecos:home:shell`); bad lines are skipped.
pub fn parse_passwd(text: &str) -> Vec<UserInfo> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(UserInfo {
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                name: f[0].to_string(),
                homedir: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .take(MAX_ENTRIES)
        .collect()
}

/// Parses `/etc/group` lines (`name:x:gid:members`); bad lines are skipped.
pub fn parse_group(text: &str) -> Vec<GroupInfo> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupInfo {
                gid: f[2].parse().ok()?,
                name: f[0].to_string(),
            })
        })
        .take(MAX_ENTRIES)
        .collect()
}

/// Users and groups of the image rooted at `root`; `root`/`root` (uid/gid 0) when the files
/// are missing, so that `user.name` of root is known anyway.
pub fn users_and_groups(root: Option<&Path>) -> (Vec<UserInfo>, Vec<GroupInfo>) {
    let mut users = root
        .and_then(|r| read_small(&r.join("etc/passwd")))
        .map(|t| parse_passwd(&t))
        .unwrap_or_default();
    let mut groups = root
        .and_then(|r| read_small(&r.join("etc/group")))
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    if !users.iter().any(|u| u.uid == 0) {
        users.insert(
            0,
            UserInfo {
                uid: 0,
                gid: 0,
                name: "root".into(),
                homedir: "/root".into(),
                shell: "/bin/sh".into(),
            },
        );
    }
    if !groups.iter().any(|g| g.gid == 0) {
        groups.insert(
            0,
            GroupInfo {
                gid: 0,
                name: "root".into(),
            },
        );
    }
    (users, groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_passwd_and_group() {
        let u = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n# c\nbad line\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\nx:x:notanumber:1:::\n",
        );
        assert_eq!(u.len(), 2);
        assert_eq!(
            (u[1].uid, u[1].gid, u[1].name.as_str()),
            (101, 101, "nginx")
        );
        assert_eq!(u[1].shell, "/sbin/nologin");
        let g = parse_group("root:x:0:\nnginx:x:101:a,b\n:::\n");
        assert_eq!(g.len(), 2);
        assert_eq!((g[1].gid, g[1].name.as_str()), (101, "nginx"));
    }

    #[test]
    fn reads_a_rootfs_and_falls_back_to_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::fs::write(
            dir.path().join("etc/passwd"),
            "app:x:1000:1000::/home/app:/bin/sh\n",
        )
        .expect("write");
        let (u, g) = users_and_groups(Some(dir.path()));
        assert_eq!(u.iter().map(|u| u.uid).collect::<Vec<_>>(), vec![0, 1000]);
        assert_eq!(g.len(), 1);
        let (u, g) = users_and_groups(None);
        assert_eq!((u.len(), g.len()), (1, 1));
    }
}
