package api

import (
	"errors"
	"net/http"

	"decnet/internal/store"
)

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.st.Users(r.Context())
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := struct {
		Items []userJSON `json:"items"`
	}{Items: make([]userJSON, len(users))}
	for i, u := range users {
		out.Items[i] = userOut(u, true)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username           string `json:"username"`
		Password           string `json:"password"`
		Role               string `json:"role"`
		MustChangePassword *bool  `json:"must_change_password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if !store.ValidUsername(in.Username) {
		writeError(w, http.StatusBadRequest, "a username is 1-64 letters, digits, '.', '_', '-' or '@'")
		return
	}
	if in.Role != store.RoleAdmin && in.Role != store.RoleViewer {
		writeError(w, http.StatusBadRequest, "role must be admin or viewer")
		return
	}
	if err := checkPassword(in.Password); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hash, err := hashPassword(in.Password)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	u := store.User{Username: in.Username, Role: in.Role, PasswordHash: hash, MustChangePassword: in.MustChangePassword == nil || *in.MustChangePassword}
	if err := s.st.CreateUser(r.Context(), u); errors.Is(err, store.ErrExists) {
		writeError(w, http.StatusConflict, "a user with this name exists")
		return
	} else if err != nil {
		s.queryError(w, r, err)
		return
	}
	created, err := s.st.User(r.Context(), u.Username)
	if err != nil || created == nil {
		s.internalError(w, r, errors.Join(err, errors.New("the new user cannot be read back")))
		return
	}
	s.log.Info("user created", "username", u.Username, "role", u.Role, "by", authFrom(r.Context()).user.Username)
	writeJSON(w, http.StatusCreated, map[string]userJSON{"user": userOut(*created, true)})
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	me := authFrom(r.Context()).user
	if name == me.Username {
		writeError(w, http.StatusConflict, "you cannot delete your own account")
		return
	}
	target, err := s.st.User(r.Context(), name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if target == nil {
		writeError(w, http.StatusNotFound, "no such user")
		return
	}
	if ok, err := s.st.DeleteUser(r.Context(), name); err != nil {
		s.internalError(w, r, err)
		return
	} else if !ok {
		writeError(w, http.StatusNotFound, "no such user")
		return
	}
	s.sessions.dropUser(name)
	s.log.Info("user deleted", "username", name, "by", me.Username)
	writeJSON(w, http.StatusOK, map[string]string{"status": "deleted"})
}

// handleResetPassword sets another user's password (admin); the user must change
// it at next login unless must_change_password is false, and its sessions end.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	var in struct {
		NewPassword        string `json:"new_password"`
		MustChangePassword *bool  `json:"must_change_password"`
	}
	if !decodeJSON(w, r, &in) {
		return
	}
	if err := checkPassword(in.NewPassword); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	hash, err := hashPassword(in.NewPassword)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	must := in.MustChangePassword == nil || *in.MustChangePassword
	ok, err := s.st.SetPassword(r.Context(), name, hash, must)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no such user")
		return
	}
	me := authFrom(r.Context())
	except := ""
	if name == me.user.Username {
		except = me.idHash
	}
	if _, err := s.st.DeleteUserSessions(r.Context(), name, except); err != nil {
		s.internalError(w, r, err)
		return
	}
	s.sessions.dropUser(name)
	u, err := s.st.User(r.Context(), name)
	if err != nil || u == nil {
		s.internalError(w, r, errors.Join(err, errors.New("the user cannot be read back")))
		return
	}
	s.log.Info("password reset", "username", name, "by", me.user.Username)
	writeJSON(w, http.StatusOK, map[string]userJSON{"user": userOut(*u, true)})
}
