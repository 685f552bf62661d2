//! A DNS server on loopback (UDP) answering TXT questions from records the test
//! sets, authoritatively: a name with no record is NXDOMAIN, as a real zone
//! answers. Enough of RFC 1035's wire format for a resolver asking one question.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;

const TYPE_TXT: u16 = 16;
const CLASS_IN: u16 = 1;
const NXDOMAIN: u16 = 3;
const FORMERR: u16 = 1;

#[derive(Clone)]
pub struct FakeDns {
    pub address: SocketAddr,
    records: Arc<Mutex<HashMap<String, Vec<String>>>>,
    questions: Arc<Mutex<Vec<String>>>,
}

impl FakeDns {
    pub async fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a loopback UDP port");
        let address = socket.local_addr().unwrap();
        let dns = Self { address, records: Default::default(), questions: Default::default() };
        let server = dns.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 1500];
            while let Ok((length, peer)) = socket.recv_from(&mut buffer).await {
                let answer = server.answer(&buffer[..length]);
                let _ = socket.send_to(&answer, peer).await;
            }
        });
        dns
    }

    /// Adds a TXT record (names without the trailing dot, any case).
    pub fn add_txt(&self, name: &str, value: &str) {
        self.records.lock().unwrap().entry(name.to_ascii_lowercase()).or_default().push(value.to_owned());
    }

    /// The names asked about, in order.
    pub fn questions(&self) -> Vec<String> {
        self.questions.lock().unwrap().clone()
    }

    fn answer(&self, query: &[u8]) -> Vec<u8> {
        let Some((name, question_end, qtype)) = parse_question(query) else {
            let mut reply = query.get(..12).map(<[u8]>::to_vec).unwrap_or_else(|| vec![0; 12]);
            reply[2..4].copy_from_slice(&(0x8000 | FORMERR).to_be_bytes());
            reply[4..12].fill(0);
            return reply;
        };
        self.questions.lock().unwrap().push(name.clone());
        let records = self.records.lock().unwrap().get(&name).cloned();
        let texts = match (&records, qtype) {
            (Some(texts), TYPE_TXT) => texts.clone(),
            _ => Vec::new(),
        };
        let recursion_desired = u16::from_be_bytes([query[2], query[3]]) & 0x0100;
        // QR, AA and RA set; NXDOMAIN when the name has no record at all.
        let rcode = if records.is_none() { NXDOMAIN } else { 0 };
        let mut reply = Vec::with_capacity(512);
        reply.extend_from_slice(&query[..2]);
        reply.extend_from_slice(&(0x8400 | recursion_desired | 0x0080 | rcode).to_be_bytes());
        reply.extend_from_slice(&1u16.to_be_bytes());
        reply.extend_from_slice(&(texts.len() as u16).to_be_bytes());
        reply.extend_from_slice(&[0, 0, 0, 0]);
        reply.extend_from_slice(&query[12..question_end]);
        for text in texts {
            let mut data = Vec::new();
            for chunk in text.as_bytes().chunks(255) {
                data.push(chunk.len() as u8);
                data.extend_from_slice(chunk);
            }
            reply.extend_from_slice(&[0xc0, 0x0c]); // the question's name
            reply.extend_from_slice(&TYPE_TXT.to_be_bytes());
            reply.extend_from_slice(&CLASS_IN.to_be_bytes());
            reply.extend_from_slice(&0u32.to_be_bytes()); // not to be cached
            reply.extend_from_slice(&(data.len() as u16).to_be_bytes());
            reply.extend_from_slice(&data);
        }
        reply
    }
}

/// The first question's name (lower case, no trailing dot), where it ends, and its type.
fn parse_question(query: &[u8]) -> Option<(String, usize, u16)> {
    if query.len() < 12 || u16::from_be_bytes([query[4], query[5]]) == 0 {
        return None;
    }
    let mut labels = Vec::new();
    let mut at = 12;
    loop {
        let length = *query.get(at)? as usize;
        at += 1;
        if length == 0 {
            break;
        }
        if length > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + length)?).to_ascii_lowercase());
        at += length;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    query.get(at + 2..at + 4)?;
    Some((labels.join("."), at + 4, qtype))
}
