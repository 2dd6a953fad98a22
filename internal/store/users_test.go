package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"decnet/internal/store/storetest"
)

func TestSQLiteUsers(t *testing.T) { runUserSuite(t, storetest.SQLiteDSN) }

func TestMySQLUsers(t *testing.T) { runUserSuite(t, storetest.MySQLDSN) }

func runUserSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()
	t.Run("Users", func(t *testing.T) {
		st := open(t, fresh(t))
		if u, err := st.User(ctx, "admin"); err != nil || u != nil {
			t.Fatalf("User on an empty table = %v, %v; want nil, nil", u, err)
		}
		admin := User{Username: "admin", Role: RoleAdmin, PasswordHash: "$argon2id$x", MustChangePassword: true}
		if err := st.CreateUser(ctx, admin); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, admin); !errors.Is(err, ErrExists) {
			t.Fatalf("second CreateUser = %v; want ErrExists", err)
		}
		for _, bad := range []User{
			{Username: "", Role: RoleAdmin, PasswordHash: "h"},
			{Username: "a<script>", Role: RoleAdmin, PasswordHash: "h"},
			{Username: "bob", Role: "root", PasswordHash: "h"},
			{Username: "bob", Role: RoleViewer, PasswordHash: ""},
		} {
			if err := st.CreateUser(ctx, bad); !errors.Is(err, ErrInvalid) {
				t.Errorf("CreateUser(%+v) = %v; want ErrInvalid", bad, err)
			}
		}
		if err := st.CreateUser(ctx, User{Username: "bob", Role: RoleViewer, PasswordHash: "h2"}); err != nil {
			t.Fatal(err)
		}
		u, err := st.User(ctx, "admin")
		if err != nil || u == nil || u.Role != RoleAdmin || u.PasswordHash != "$argon2id$x" || !u.MustChangePassword {
			t.Fatalf("User(admin) = %+v, %v", u, err)
		}
		if u, _ := st.User(ctx, "ADMIN"); u != nil {
			t.Error("usernames must compare byte for byte")
		}
		ok, err := st.SetPassword(ctx, "admin", "$argon2id$y", false)
		if err != nil || !ok {
			t.Fatalf("SetPassword = %v, %v", ok, err)
		}
		if ok, _ := st.SetPassword(ctx, "nobody", "h", false); ok {
			t.Error("SetPassword of an unknown user reported success")
		}
		u, _ = st.User(ctx, "admin")
		if u.PasswordHash != "$argon2id$y" || u.MustChangePassword {
			t.Errorf("after SetPassword: %+v", u)
		}
		all, err := st.Users(ctx)
		if err != nil || len(all) != 2 || all[0].Username != "admin" || all[1].Username != "bob" {
			t.Fatalf("Users = %+v, %v", all, err)
		}
		now := time.Now()
		if err := st.CreateSession(ctx, Session{IDHash: "h-bob", Username: "bob", ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ok, err = st.DeleteUser(ctx, "bob")
		if err != nil || !ok {
			t.Fatalf("DeleteUser = %v, %v", ok, err)
		}
		if se, _ := st.Session(ctx, "h-bob"); se != nil {
			t.Error("deleting a user left its session behind")
		}
		if ok, _ := st.DeleteUser(ctx, "bob"); ok {
			t.Error("deleting a deleted user reported success")
		}
	})
	t.Run("Sessions", func(t *testing.T) {
		st := open(t, fresh(t))
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, se := range []Session{
			{IDHash: "a", Username: "admin", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{IDHash: "b", Username: "admin", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			{IDHash: "c", Username: "admin", CreatedAt: now.Add(-2 * time.Hour), LastSeen: now.Add(-2 * time.Hour), ExpiresAt: now.Add(time.Hour)},
			{IDHash: "d", Username: "other", CreatedAt: now, ExpiresAt: now.Add(-time.Second)},
		} {
			if err := st.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
		}
		se, err := st.Session(ctx, "a")
		if err != nil || se == nil || se.Username != "admin" || !se.CreatedAt.Equal(now) || !se.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("Session(a) = %+v, %v", se, err)
		}
		later := now.Add(time.Minute)
		if err := st.TouchSession(ctx, "a", later); err != nil {
			t.Fatal(err)
		}
		if se, _ := st.Session(ctx, "a"); !se.LastSeen.Equal(later) {
			t.Errorf("TouchSession: last seen %v, want %v", se.LastSeen, later)
		}
		n, err := st.PruneSessions(ctx, now, now.Add(-time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneSessions removed %d (%v); want 2 (idle c, expired d)", n, err)
		}
		n, err = st.DeleteUserSessions(ctx, "admin", "a")
		if err != nil || n != 1 {
			t.Fatalf("DeleteUserSessions removed %d (%v); want 1", n, err)
		}
		if se, _ := st.Session(ctx, "a"); se == nil {
			t.Fatal("DeleteUserSessions removed the kept session")
		}
		if err := st.DeleteSession(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if se, _ := st.Session(ctx, "a"); se != nil {
			t.Fatal("DeleteSession left the session")
		}
	})
	t.Run("SecretOnceUnderRace", func(t *testing.T) {
		dsn := fresh(t)
		st1, st2 := open(t, dsn), open(t, dsn)
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := st1
				if i%2 == 1 {
					st = st2
				}
				v, err := st.Secret(ctx, "session", func() (string, error) { return "value-" + string(rune('a'+i)), nil })
				if err != nil {
					t.Error(err)
				}
				got[i] = v
			}()
		}
		wg.Wait()
		for _, v := range got {
			if v != got[0] || v == "" {
				t.Fatalf("concurrent first uses disagree: %q", got)
			}
		}
		again, err := open(t, dsn).Secret(ctx, "session", func() (string, error) { return "new", nil })
		if err != nil || again != got[0] {
			t.Fatalf("the secret changed on reopen: %q, %v", again, err)
		}
	})
}
