import { api } from "./api.js";

const form = document.getElementById("sign-in");
const error = document.getElementById("error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const data = new FormData(form);
  try {
    await api("POST", "/api/auth/sign-in", { username: data.get("username"), password: data.get("password") });
    window.location.assign("/");
  } catch (failure) {
    error.textContent = failure.message;
  }
});
