//! Test support: Debian's sysdig 0.29.3 as the oracle for SCAP files, shared by the tests of
//! every crate (`scap`, `capture`, the end-to-end suite).
//!
//! * [`require_sysdig`], [`sysdig`], [`sysdig_status`], [`sysdig_json`], [`sysdig_fields`],
//!   [`json_lines`]: run `sysdig -r FILE …` and parse what it prints.
//! * [`split_info`], [`same_value`]: compare one event's parameters as sysdig renders them
//!   (`evt.info`/`evt.args`) with [`render_value`].
//! * [`check_agreement`]: our [`ScapReader`] and `sysdig -r FILE -j` agree event for event.
//!
//! Error handling: the helpers meant for `#[test]` bodies ([`require_sysdig`], [`sysdig`],
//! [`sysdig_json`], [`sysdig_fields`], [`json_lines`]) panic with a message that names the file
//! and sysdig's stderr; they are thin wrappers over [`sysdig_status`] and [`try_json_lines`].
//! [`check_agreement`] returns every failure (sysdig missing or failing, unreadable file,
//! disagreement) as `Err(message)`, so that harnesses with their own error type (the
//! end-to-end suite) can report it. A missing sysdig is always a failure, never a skip: these
//! tests are the format's acceptance test.
//!
//! Always compiled (it needs nothing beyond `std` and `serde_json`, which the crate uses
//! anyway): a cargo feature would let `cargo test` pass without the oracle, or skip it.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use crate::event_table::Category;
use crate::render::render_value;
use crate::{
    syscall_name, EventRecord, ParamType, ParamValue, ScapReader, CONTAINER_JSON_2_E,
    CONTAINER_JSON_E,
};

/// Debian's sysdig, the oracle.
pub const SYSDIG: &str = "/usr/bin/sysdig";

/// `GENERIC_E`/`GENERIC_X`: printed under the syscall's own name, without arguments.
const GENERIC_E: u16 = 0;
const GENERIC_X: u16 = 1;

/// Fails (never skips) when sysdig is missing.
pub fn require_sysdig() {
    if let Err(e) = sysdig_present() {
        panic!("{e}");
    }
}

fn sysdig_present() -> Result<(), String> {
    if Path::new(SYSDIG).exists() {
        Ok(())
    } else {
        Err(format!(
            "{SYSDIG} is missing: the SCAP oracle tests need Debian's sysdig 0.29.3 \
             (`apt-get install sysdig`)"
        ))
    }
}

/// Output of one sysdig run.
#[derive(Debug, Clone)]
pub struct SysdigRun {
    /// Whether sysdig exited 0.
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `sysdig -r FILE ARGS…`, whatever its exit status; `Err` only when sysdig is missing
/// or cannot be started.
pub fn sysdig_status(file: &Path, args: &[&str]) -> Result<SysdigRun, String> {
    sysdig_present()?;
    let out = Command::new(SYSDIG)
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .map_err(|e| format!("running {SYSDIG}: {e}"))?;
    Ok(SysdigRun {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `sysdig -r FILE ARGS…` → stdout, or `Err` naming the file and sysdig's stderr.
pub fn try_sysdig(file: &Path, args: &[&str]) -> Result<String, String> {
    let run = sysdig_status(file, args)?;
    if run.success {
        Ok(run.stdout)
    } else {
        Err(format!(
            "sysdig -r {} {args:?} failed: {}",
            file.display(),
            run.stderr
        ))
    }
}

/// `sysdig -r FILE ARGS…` → stdout; panics with stderr on failure.
pub fn sysdig(file: &Path, args: &[&str]) -> String {
    try_sysdig(file, args).unwrap_or_else(|e| panic!("{e}"))
}

/// The JSON lines of sysdig's `-j` output (other lines, such as warnings, are ignored).
pub fn try_json_lines(stdout: &str) -> Result<Vec<serde_json::Value>, String> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).map_err(|e| format!("sysdig JSON {l:?}: {e}")))
        .collect()
}

/// [`try_json_lines`], panicking on a line that is not JSON.
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    try_json_lines(stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// `sysdig -r FILE -j EXTRA…` parsed line by line.
pub fn sysdig_json(file: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["-j"];
    args.extend_from_slice(extra);
    json_lines(&sysdig(file, &args))
}

/// `sysdig -r FILE -j -p FIELDS` parsed line by line.
pub fn sysdig_fields(file: &Path, fields: &str) -> Vec<serde_json::Value> {
    json_lines(&sysdig(file, &["-j", "-p", fields]))
}

/// Splits sysdig's `evt.info`/`evt.args` (`name=value name=value `) into the values of
/// `names`, which must appear in this order; values may contain spaces. `None` when a name
/// is missing.
pub fn split_info(info: &str, names: &[&str]) -> Option<Vec<String>> {
    let mut starts = Vec::with_capacity(names.len());
    let mut from = 0;
    for (i, n) in names.iter().enumerate() {
        let at = if i == 0 {
            info.starts_with(&format!("{n}=")).then_some(0)?
        } else {
            from + info[from..].find(&format!(" {n}="))? + 1
        };
        starts.push(at);
        from = at + n.len() + 1;
    }
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.iter().enumerate() {
        let vstart = starts[i] + n.len() + 1;
        let value = match starts.get(i + 1) {
            Some(next) => &info[vstart..next - 1],
            // sysdig ends evt.info with one space.
            None => info[vstart..].strip_suffix(' ').unwrap_or(&info[vstart..]),
        };
        out.push(value.to_string());
    }
    Some(out)
}

/// Whether sysdig's rendering of a parameter of type `ty` shows the value we render as
/// `ours`. The only differences allowed are what sysdig adds from its own state, never a
/// different value:
///
/// * a trailing `(annotation)` on a value it can explain: fd names (`3(<f>/etc/passwd)`),
///   errno names (`-2(ENOENT)`), flag names (`4097(O_RDONLY|O_CLOEXEC)`), user names, the
///   child's comm on clone (`1234(sh)`);
/// * in an fd list (`poll`, `ppoll`), each entry `fd:<type char><flags>` carries the fd's type
///   character from sysdig's fd table (`X` when unknown); the flags must match.
pub fn same_value(ty: ParamType, sysdig: &str, ours: &str) -> bool {
    if sysdig == ours {
        return true;
    }
    if ty == ParamType::FdList {
        let strip = |e: &str| match e.split_once(':') {
            Some((fd, rest)) => format!("{fd}:{}", rest.get(1..).unwrap_or_default()),
            None => e.to_string(),
        };
        return sysdig
            .split(' ')
            .map(strip)
            .eq(ours.split(' ').map(str::to_string));
    }
    sysdig
        .strip_prefix(ours)
        .is_some_and(|rest| rest.starts_with('(') && rest.ends_with(')'))
}

/// What [`check_agreement`] compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Agreement {
    /// Events sysdig printed, each matched with ours.
    pub events_compared: usize,
    /// Parameter values compared.
    pub params_compared: usize,
    /// Zero-length parameters, which sysdig renders from stale memory: not comparable (see
    /// `unset_renders_undefined`).
    pub params_unset: usize,
}

/// Our reader's decoding of `path` agrees with `sysdig -r PATH -j`, event for event:
///
/// * the same set of event numbers: sysdig prints every event except the internal ones (it
///   hides `EC_INTERNAL` events, such as `procinfo` and `drop`, unless run with `-D`) and the
///   leading container events it consumes while opening the file;
/// * per event: `evt.type` (for generic events, the syscall's own name), `evt.dir`,
///   `evt.cpu`, the timestamp, `thread.tid`;
/// * every parameter rendered by [`render_value`] against sysdig's `evt.info`, split by
///   [`split_info`] and compared by [`same_value`]; generic events have none; events shorter
///   than the table (old captures) must be as short in sysdig; zero-length parameters, which
///   sysdig renders from stale memory, are counted in [`Agreement::params_unset`] instead.
///
/// `Err` names the file, the event number and type, the parameter and both values.
pub fn check_agreement(path: &Path) -> Result<Agreement, String> {
    let name = path.display().to_string();
    let reader = ScapReader::open(path).map_err(|e| format!("{name}: our reader: {e}"))?;
    let leading_containers = reader.container_json().len();
    let ours = reader
        .collect::<Result<Vec<EventRecord>, _>>()
        .map_err(|e| format!("{name}: our reader: {e}"))?;
    let theirs = try_json_lines(&try_sysdig(path, &["-j"])?).map_err(|e| format!("{name}: {e}"))?;
    let by_num: HashMap<u64, &EventRecord> = ours.iter().map(|r| (r.num, r)).collect();

    let mut printed = BTreeSet::new();
    for j in &theirs {
        printed.insert(evt_num(&name, j)?);
    }
    let mut expected = BTreeSet::new();
    for (i, r) in ours.iter().enumerate() {
        let ty = r.event.event_type;
        let leading_container =
            i < leading_containers && matches!(ty, CONTAINER_JSON_E | CONTAINER_JSON_2_E);
        let internal = r
            .event
            .info()
            .is_some_and(|i| i.category == Category::Internal);
        if !leading_container && !internal {
            expected.insert(r.num);
        }
    }
    if printed != expected {
        let only_sysdig: Vec<_> = printed.difference(&expected).take(20).collect();
        let only_ours: Vec<_> = expected.difference(&printed).take(20).collect();
        return Err(format!(
            "{name}: sets of printed events differ: only sysdig prints {only_sysdig:?}, only \
             our reader has {only_ours:?} (first 20 of each)"
        ));
    }

    let mut total = Agreement {
        events_compared: theirs.len(),
        ..Agreement::default()
    };
    for j in &theirs {
        let counts = compare_event(&name, j, &by_num)?;
        total.params_compared += counts.params_compared;
        total.params_unset += counts.params_unset;
    }
    Ok(total)
}

fn evt_num(name: &str, j: &serde_json::Value) -> Result<u64, String> {
    j["evt.num"]
        .as_u64()
        .ok_or_else(|| format!("{name}: sysdig line without evt.num: {j}"))
}

/// Compares one event sysdig printed with ours; returns the parameters compared and skipped.
fn compare_event(
    name: &str,
    j: &serde_json::Value,
    by_num: &HashMap<u64, &EventRecord>,
) -> Result<Agreement, String> {
    let num = evt_num(name, j)?;
    let ev = &by_num
        .get(&num)
        .ok_or_else(|| format!("{name}: evt.num {num}: not read by our reader"))?
        .event;
    let info = ev
        .info()
        .ok_or_else(|| format!("{name}: evt.num {num}: unknown type {}", ev.event_type))?;
    let ctx = format!(
        "{name} evt.num {num} ({}{} {})",
        info.dir_char(),
        info.name,
        ev.event_type
    );
    let check = |what: &str, theirs: &serde_json::Value, ours: String| {
        // Strings as they are, numbers as JSON writes them.
        let text = match theirs {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text == ours {
            Ok(())
        } else {
            Err(format!("{ctx}: {what}: sysdig {theirs}, ours {ours:?}"))
        }
    };
    let generic = matches!(ev.event_type, GENERIC_E | GENERIC_X);
    if generic {
        let id = ev.params.first().and_then(ParamValue::as_u64).unwrap_or(0);
        let syscall = u16::try_from(id).ok().and_then(syscall_name);
        check(
            &format!("generic evt.type (syscall id {id})"),
            &j["evt.type"],
            syscall.unwrap_or("<unknown syscall>").to_string(),
        )?;
    } else {
        check("evt.type", &j["evt.type"], info.name.to_string())?;
    }
    check("evt.dir", &j["evt.dir"], info.dir_char().to_string())?;
    check("evt.cpu", &j["evt.cpu"], ev.cpu.to_string())?;
    check("evt.outputtime", &j["evt.outputtime"], ev.ts.to_string())?;
    // Container JSON events carry tid -1 (u64::MAX); sysdig prints thread ids signed.
    check("thread.tid", &j["thread.tid"], (ev.tid as i64).to_string())?;

    let sinfo = j["evt.info"].as_str().unwrap_or_default();
    if generic {
        return if sinfo.is_empty() {
            Ok(Agreement::default())
        } else {
            Err(format!(
                "{ctx}: sysdig prints args for a generic event: {sinfo:?}"
            ))
        };
    }
    if ev.params.len() < info.params.len() {
        // Old captures hold shorter versions of some events; sysdig must agree that the next
        // parameter is absent.
        let more: Vec<&str> = info.params[..=ev.params.len()]
            .iter()
            .map(|p| p.name)
            .collect();
        if split_info(sinfo, &more).is_some() {
            return Err(format!(
                "{ctx}: sysdig shows more than our {} params: {sinfo:?}",
                ev.params.len()
            ));
        }
    }
    let names: Vec<&str> = info.params[..ev.params.len()]
        .iter()
        .map(|p| p.name)
        .collect();
    let values = split_info(sinfo, &names)
        .ok_or_else(|| format!("{ctx}: evt.info {sinfo:?} lacks {names:?}"))?;
    let mut counts = Agreement::default();
    for ((p, v), s) in info.params.iter().zip(&ev.params).zip(&values) {
        if unset_renders_undefined(p.ty, v) {
            counts.params_unset += 1;
            continue;
        }
        let mine = render_value(p, v);
        if !same_value(p.ty, s, &mine) {
            return Err(format!(
                "{ctx}: param {} ({:?}): sysdig {s:?}, ours {mine:?}",
                p.name, p.ty
            ));
        }
        counts.params_compared += 1;
    }
    Ok(counts)
}

/// Whether sysdig 0.29.3's rendering of this zero-length parameter is undefined, so that
/// there is nothing to compare. libsinsp's `get_param_as_str` checks the length only for
/// `SOCKADDR`/`SOCKTUPLE` (it prints `NULL`) and `BYTEBUF` (an empty string). For the other
/// types it reads the payload regardless: `FSPATH` copies `min(len, size)` = 0 bytes with
/// `strcpy_sanitized`, leaving the previously rendered parameter in its buffer; `CHARBUF`
/// prints the unterminated bytes that follow; numbers read past the parameter. Zero-length
/// parameters are valid input (the parsers check `namelen != 0`; drivers emit them for values
/// they could not read) and our writer uses them for paths it does not know.
fn unset_renders_undefined(ty: ParamType, v: &ParamValue) -> bool {
    matches!(v, ParamValue::Empty)
        && !matches!(
            ty,
            ParamType::SockAddr | ParamType::SockTuple | ParamType::ByteBuf
        )
}
