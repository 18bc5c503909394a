package specconv

import (
	"sort"

	"golang.org/x/sys/unix"
)

// mountFlag is what one mount option means. The table below is the one
// place that knows mount options: the converter uses it, and `husk features`
// lists its keys.
type mountFlag struct {
	set, clear  int    // MS_* flags to set or clear
	propagation int    // MS_SHARED etc. (with MS_REC for the r* forms)
	attrSet     uint64 // MOUNT_ATTR_* applied recursively with mount_setattr
	attrClr     uint64
}

var mountOptions = map[string]mountFlag{
	"async":         {clear: unix.MS_SYNCHRONOUS},
	"atime":         {clear: unix.MS_NOATIME},
	"bind":          {set: unix.MS_BIND},
	"defaults":      {},
	"dev":           {clear: unix.MS_NODEV},
	"diratime":      {clear: unix.MS_NODIRATIME},
	"dirsync":       {set: unix.MS_DIRSYNC},
	"exec":          {clear: unix.MS_NOEXEC},
	"iversion":      {set: unix.MS_I_VERSION},
	"lazytime":      {set: unix.MS_LAZYTIME},
	"loud":          {clear: unix.MS_SILENT},
	"mand":          {set: unix.MS_MANDLOCK},
	"noatime":       {set: unix.MS_NOATIME},
	"nodev":         {set: unix.MS_NODEV},
	"nodiratime":    {set: unix.MS_NODIRATIME},
	"noexec":        {set: unix.MS_NOEXEC},
	"noiversion":    {clear: unix.MS_I_VERSION},
	"nolazytime":    {clear: unix.MS_LAZYTIME},
	"nomand":        {clear: unix.MS_MANDLOCK},
	"norelatime":    {clear: unix.MS_RELATIME},
	"nostrictatime": {clear: unix.MS_STRICTATIME},
	"nosuid":        {set: unix.MS_NOSUID},
	"nosymfollow":   {set: unix.MS_NOSYMFOLLOW},
	"rbind":         {set: unix.MS_BIND | unix.MS_REC},
	"relatime":      {set: unix.MS_RELATIME},
	"remount":       {set: unix.MS_REMOUNT},
	"ro":            {set: unix.MS_RDONLY},
	"rw":            {clear: unix.MS_RDONLY},
	"silent":        {set: unix.MS_SILENT},
	"strictatime":   {set: unix.MS_STRICTATIME},
	"suid":          {clear: unix.MS_NOSUID},
	"symfollow":     {clear: unix.MS_NOSYMFOLLOW},
	"sync":          {set: unix.MS_SYNCHRONOUS},

	"private":     {propagation: unix.MS_PRIVATE},
	"rprivate":    {propagation: unix.MS_PRIVATE | unix.MS_REC},
	"shared":      {propagation: unix.MS_SHARED},
	"rshared":     {propagation: unix.MS_SHARED | unix.MS_REC},
	"slave":       {propagation: unix.MS_SLAVE},
	"rslave":      {propagation: unix.MS_SLAVE | unix.MS_REC},
	"unbindable":  {propagation: unix.MS_UNBINDABLE},
	"runbindable": {propagation: unix.MS_UNBINDABLE | unix.MS_REC},

	"rro":            {attrSet: unix.MOUNT_ATTR_RDONLY},
	"rrw":            {attrClr: unix.MOUNT_ATTR_RDONLY},
	"rnosuid":        {attrSet: unix.MOUNT_ATTR_NOSUID},
	"rsuid":          {attrClr: unix.MOUNT_ATTR_NOSUID},
	"rnodev":         {attrSet: unix.MOUNT_ATTR_NODEV},
	"rdev":           {attrClr: unix.MOUNT_ATTR_NODEV},
	"rnoexec":        {attrSet: unix.MOUNT_ATTR_NOEXEC},
	"rexec":          {attrClr: unix.MOUNT_ATTR_NOEXEC},
	"rnodiratime":    {attrSet: unix.MOUNT_ATTR_NODIRATIME},
	"rdiratime":      {attrClr: unix.MOUNT_ATTR_NODIRATIME},
	"rnosymfollow":   {attrSet: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rsymfollow":     {attrClr: unix.MOUNT_ATTR_NOSYMFOLLOW},
	"rrelatime":      {attrSet: unix.MOUNT_ATTR_RELATIME, attrClr: unix.MOUNT_ATTR__ATIME},
	"rnorelatime":    {attrClr: unix.MOUNT_ATTR__ATIME},
	"rnoatime":       {attrSet: unix.MOUNT_ATTR_NOATIME, attrClr: unix.MOUNT_ATTR__ATIME},
	"ratime":         {attrClr: unix.MOUNT_ATTR__ATIME},
	"rstrictatime":   {attrSet: unix.MOUNT_ATTR_STRICTATIME, attrClr: unix.MOUNT_ATTR__ATIME},
	"rnostrictatime": {attrClr: unix.MOUNT_ATTR__ATIME},
}

// unsupportedMountOptions are options of the spec's table that husk does
// not implement yet: a config that uses one is refused, never ignored.
var unsupportedMountOptions = map[string]string{}

// MountOptions lists the mount options husk implements, sorted.
func MountOptions() []string {
	out := make([]string, 0, len(mountOptions)+1)
	for k := range mountOptions {
		out = append(out, k)
	}
	out = append(out, "tmpcopyup", "idmap", "ridmap")
	sort.Strings(out)
	return out
}
