// The container's stdio and the attach clients: output is copied to the log
// and to every client, clients' stdin and resizes go to the container.
// attach.sock is a SOCK_SEQPACKET socket speaking engine/monitor_protocol.h's frames.
#pragma once

#include <cstdint>

namespace berth::monitor {

// Takes the inherited container fds (a pty master, or pipes) and adds them to the epoll set.
void setup_stdio();
// Binds and listens on <run_dir>/attach.sock and adds it to the epoll set (fails the set-up on error).
void listen_attach();

// Event handlers of the main loop, by epoll tag.
void accept_clients();
void output_readable(uint32_t tag);  // kTagOut or kTagErr
void stdin_event(uint32_t events);   // kTagIn
void client_event(uint32_t tag, uint32_t events);  // kTagClient + i

// After the init's exit: what is still buffered goes to the log and to
// clients, each client waited for a bounded time.
void drain_output();
// Sends the exit frame to every client (including any still in the listen
// queue) and removes the socket, so nobody attaches to a container that is gone.
// A client that cleans up itself (kFrameWillCleanUp, run --rm) is then waited
// for: true when it confirmed (kFrameCleanedUp) and the exit command is not
// needed; false when it hung up without confirming, or took over 30 s.
bool close_attach(int exit_code);

}  // namespace berth::monitor
